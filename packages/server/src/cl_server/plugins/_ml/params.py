"""Form parameters shared by the embedding plugins (light: pydantic only)."""

from __future__ import annotations

from cl_server.plugins.base import PluginParams


class NormalizeParams(PluginParams):
    normalize: bool = True
    """L2-normalise the embedding (PROTOCOL §4.1; form values true/false/1/0/yes/no/on/off)."""
