"""``cl-server up --pull-models``: download the models the workers will need before they start."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cl_server.models.locate import model_status
from cl_server.models.pull import PullError, pull_model
from cl_server.models.registry import MODELS, ModelInfo
from cl_server.up.children import announce

_PROGRESS_STEP = 0.25
"""Report a download at every quarter, so a slow 100 MB model shows it is moving."""


def missing_models(
    task_types: Sequence[str], data_dir: Path, models_dir: Path | None = None
) -> list[ModelInfo]:
    """Registry models used by ``task_types`` with a file the workers would not find."""
    wanted = set(task_types)
    return [
        model
        for model in MODELS.values()
        if wanted.intersection(model.task_types)
        and any(
            status.path is None
            for status in model_status(model, data_dir=data_dir, models_dir=models_dir)
        )
    ]


def pull_missing_models(
    task_types: Sequence[str], data_dir: Path, out: TextIO, models_dir: Path | None = None
) -> bool:
    """Pull each missing model into ``<data_dir>/models``; False if any pull failed.

    A failure is reported and the stack still starts: the plugins that need the model are then
    listed as unavailable, with the command to try again.
    """
    models = missing_models(task_types, data_dir, models_dir)
    if not models:
        announce(out, "models: every model the workers need is present")
        return True
    ok = True
    for model in models:
        announce(out, f"pulling model {model.name} ({model.license})")
        try:
            result = pull_model(model, data_dir / "models", on_progress=_Reporter(out, model))
        except PullError as exc:
            announce(out, f"could not pull {model.name}: {exc}")
            ok = False
            continue
        announce(out, f"model {model.name} installed in {result.model_dir}")
    return ok


class _Reporter:
    """Turns byte counts into a few readable lines per file (the output is a shared log)."""

    def __init__(self, out: TextIO, model: ModelInfo) -> None:
        self._out = out
        self._model = model
        self._reported: dict[str, float] = {}

    def __call__(self, file_name: str, done: int, total: int | None) -> None:
        fraction = done / total if total else 0.0
        last = self._reported.get(file_name, -1.0)
        finished = total is not None and done >= total
        if not finished and fraction < last + _PROGRESS_STEP:
            return
        if finished and last >= 1.0:
            return
        self._reported[file_name] = 1.0 if finished else fraction
        size = f"{done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else "")
        announce(self._out, f"  {self._model.name}/{file_name}: {size}")
