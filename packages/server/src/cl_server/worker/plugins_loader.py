"""Load each requested plugin once; keep only those that can actually run here."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from cl_server.errors import PluginUnavailableError
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


def load_runners(task_types: Sequence[str], models_dir: Path | None) -> dict[str, PluginRunner]:
    runners: dict[str, PluginRunner] = {}
    specs = plugin_specs()
    for task_type in task_types:
        try:
            runners[task_type] = specs[task_type].load(models_dir)
        except PluginUnavailableError as exc:
            # One clear line per missing plugin; the worker serves the others.
            # The message names the task type and says how to fix it.
            logger.warning("not serving %s", exc)
    return runners
