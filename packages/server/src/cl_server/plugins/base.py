"""The plugin contract: a pure compute core plus a thin runner, described by a ``PluginSpec``.

The compute service only needs a spec's parameter model and output path (cheap imports); the worker
calls ``spec.load()`` once per process, which imports heavy libraries and loads models.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from cl_server.errors import JobCancelledError

TaskOutput = dict[str, Any]


class PluginParams(BaseModel):
    """Base of every plugin's form parameters (``priority`` is handled by the service)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True)
class JobContext:
    """Everything a runner needs for one job. Paths are absolute."""

    job_id: str
    job_dir: Path
    input_path: Path | None
    params: Mapping[str, Any]
    report_progress: Callable[[int], None] = field(default=lambda _p: None)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def output_file(self, relative: str) -> Path:
        """Absolute path for a job-relative output, with its parent directory created."""
        path = self.job_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def require_input(self) -> Path:
        if self.input_path is None:
            raise ValueError(f"job {self.job_id} has no input file")
        return self.input_path

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelledError(f"job {self.job_id} was cancelled")


class PluginRunner(Protocol):
    """Runs jobs of one task type; created once per worker process by ``PluginSpec.load``.

    ``run`` returns the job's ``task_output`` or raises ``PluginError`` with a readable message.
    Runners with ``max_batch_size > 1`` also implement ``run_batch``.
    """

    max_batch_size: int

    def run(self, ctx: JobContext) -> TaskOutput: ...

    def run_batch(self, contexts: list[JobContext]) -> list[TaskOutput | Exception]: ...


class SingleJobRunner:
    """Convenience base: one job at a time; ``run_batch`` runs them in turn."""

    max_batch_size: int = 1

    def run(self, ctx: JobContext) -> TaskOutput:
        raise NotImplementedError

    def run_batch(self, contexts: list[JobContext]) -> list[TaskOutput | Exception]:
        results: list[TaskOutput | Exception] = []
        for ctx in contexts:
            try:
                results.append(self.run(ctx))
            except Exception as exc:  # each job fails on its own
                results.append(exc)
        return results


class PluginSpec:
    """Static description of a task type. Subclasses set the class variables and ``load``."""

    task_type: ClassVar[str]
    params_model: ClassVar[type[PluginParams]]
    requires_file: ClassVar[bool] = True

    def output_path(self, params: PluginParams, input_filename: str | None) -> str:
        """Job-relative ``params.output_path`` (PROTOCOL §4.1)."""
        raise NotImplementedError

    def stored_params(self, params: PluginParams) -> dict[str, Any]:
        """Plugin parameters as stored in the job's ``params`` (JSON-ready)."""
        return params.model_dump(mode="json")

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        """Import heavy dependencies and load models; raise ``PluginUnavailableError`` if unable."""
        raise NotImplementedError


class FixedOutputSpec(PluginSpec):
    """A spec whose output path depends on neither the parameters nor the input's name."""

    output_file: ClassVar[str]
    """Job-relative path returned by ``output_path``."""

    def output_path(self, params: PluginParams, input_filename: str | None) -> str:
        return self.output_file
