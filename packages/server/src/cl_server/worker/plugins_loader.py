"""Load each requested plugin once; keep only those that can actually run here."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cl_server.errors import PluginUnavailableError
from cl_server.models.locate import model_status
from cl_server.models.registry import MODELS
from cl_server.plugins.base import PluginRunner
from cl_server.plugins.registry import plugin_specs

logger = logging.getLogger(__name__)


class UnknownTaskTypeError(ValueError):
    pass


def parse_task_list(raw: str) -> list[str]:
    """``"hash, exif"`` → ``["hash", "exif"]``; empty → every registered task type."""
    names = [part.strip() for part in raw.split(",") if part.strip()]
    known = plugin_specs()
    if not names:
        return list(known)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UnknownTaskTypeError(
            f"unknown task type(s): {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class LoadedPlugins:
    runners: dict[str, PluginRunner]
    unavailable: dict[str, str]
    """Requested task types that could not be loaded here, with the reason (it says how to fix
    it); announced in the capability message so the service can tell users why a job waits."""
    execution_provider: str | None
    """The ONNX Runtime provider of the loaded ONNX plugins; None when none is loaded."""
    models: list[str]
    """Registry models present here that a loaded plugin uses (shown by ``GET /workers``)."""


def load_plugins(task_types: Sequence[str], models_dir: Path | None) -> LoadedPlugins:
    runners: dict[str, PluginRunner] = {}
    unavailable: dict[str, str] = {}
    specs = plugin_specs()
    for task_type in task_types:
        try:
            runners[task_type] = specs[task_type].load(models_dir)
        except PluginUnavailableError as exc:
            # One clear line per missing plugin; the worker serves the others.
            # The message names the task type and says how to fix it.
            logger.warning("not serving %s", exc)
            unavailable[task_type] = str(exc).removeprefix(f"{task_type}: ")
    return LoadedPlugins(
        runners, unavailable, _onnx_provider_in_use(), _models_in_use(runners, models_dir)
    )


def _models_in_use(runners: Mapping[str, PluginRunner], models_dir: Path | None) -> list[str]:
    return [
        model.name
        for model in MODELS.values()
        if set(model.task_types) & set(runners)
        and all(status.path is not None for status in model_status(model, models_dir=models_dir))
    ]


def _onnx_provider_in_use() -> str | None:
    # ONNX plugins import onnxruntime when they load; a worker without one (hash, exif, media)
    # does not pay for importing it just to report a provider it never uses.
    if "onnxruntime" not in sys.modules:
        return None
    from cl_server.plugins._ml.providers import chosen_provider

    return chosen_provider()
