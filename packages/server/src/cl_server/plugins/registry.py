"""Explicit registry of plugin specs. Importing it loads only light modules (no models).

Each plugin package has a ``spec`` module holding its ``PluginSpec`` subclass: parameter model and
output path only, no heavy libraries. Add a new plugin here, one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from cl_server.plugins.base import PluginSpec


@cache
def plugin_specs() -> Mapping[str, PluginSpec]:
    from cl_server.plugins.exif.spec import ExifSpec
    from cl_server.plugins.hash.spec import HashSpec

    specs: list[PluginSpec] = [
        HashSpec(),
        ExifSpec(),
    ]
    return {spec.task_type: spec for spec in specs}


def get_spec(task_type: str) -> PluginSpec | None:
    return plugin_specs().get(task_type)
