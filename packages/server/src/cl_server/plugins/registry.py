"""Explicit registry of plugin specs. Importing it loads only light modules (no models)."""

from __future__ import annotations

from collections.abc import Mapping

from cl_server.plugins.base import PluginSpec


def _build_registry() -> dict[str, PluginSpec]:
    # Each import is a spec module: parameter models and output paths only, no heavy libraries.
    specs: list[PluginSpec] = []
    from cl_server.plugins.exif.spec import ExifSpec
    from cl_server.plugins.hash.spec import HashSpec

    specs += [HashSpec(), ExifSpec()]
    return {spec.task_type: spec for spec in specs}


_REGISTRY: dict[str, PluginSpec] | None = None


def plugin_specs() -> Mapping[str, PluginSpec]:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _build_registry()
    return _REGISTRY


def get_spec(task_type: str) -> PluginSpec | None:
    return plugin_specs().get(task_type)
