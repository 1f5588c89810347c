"""Where the services live (PROTOCOL.md §7.2): one dataclass, filled from the environment.

One set of setting names for the server, the CLI and the SDK: ``CL_AUTH_URL``,
``CL_COMPUTE_URL``, ``CL_STORE_URL``, ``CL_MQTT_HOST``, ``CL_MQTT_PORT``. The names of the
original SDK (``AUTH_URL``, ``COMPUTE_URL``, ``STORE_URL``, ``MQTT_BROKER``, ``MQTT_PORT``) and the
CLI's former ``CL_MQTT_BROKER`` are still read as fallbacks; the ``CL_`` name wins when both are
set. Unset or empty variables count as absent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

DEFAULT_AUTH_URL: Final = "http://localhost:8000"
DEFAULT_COMPUTE_URL: Final = "http://localhost:8002"
DEFAULT_STORE_URL: Final = "http://localhost:8001"
DEFAULT_MQTT_HOST: Final = "localhost"
DEFAULT_MQTT_PORT: Final = 1883

ENV_NAMES: Final[Mapping[str, tuple[str, ...]]] = {
    "auth_url": ("CL_AUTH_URL", "AUTH_URL"),
    "compute_url": ("CL_COMPUTE_URL", "COMPUTE_URL"),
    "store_url": ("CL_STORE_URL", "STORE_URL"),
    "mqtt_broker": ("CL_MQTT_HOST", "CL_MQTT_BROKER", "MQTT_BROKER"),
    "mqtt_port": ("CL_MQTT_PORT", "MQTT_PORT"),
}
"""``ServerConfig`` field → environment variables read for it, in order of precedence. The CLI's
options read the same lists."""


def env_value(field_name: str, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The first non-empty variable of ``ENV_NAMES[field_name]``: ``(name, stripped value)``."""
    env = os.environ if environ is None else environ
    for name in ENV_NAMES[field_name]:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _text(field_name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    found = env_value(field_name, environ)
    return found[1] if found else default


def _port(environ: Mapping[str, str] | None = None) -> int:
    found = env_value("mqtt_port", environ)
    if found is None:
        return DEFAULT_MQTT_PORT
    name, text = found
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None


@dataclass
class ServerConfig:
    """URLs of the three HTTP services and the MQTT broker address.

    ``ServerConfig()`` reads the environment for every field it is not given (as ``from_env()``
    does); arguments always win over the environment, which wins over the defaults
    (``http://localhost:8000``, ``:8002``, ``:8001``, ``localhost``, ``1883``). A non-integer
    port variable raises ``ValueError`` naming the variable, instead of silently using 1883.
    """

    auth_url: str = field(default_factory=lambda: _text("auth_url", DEFAULT_AUTH_URL))
    compute_url: str = field(default_factory=lambda: _text("compute_url", DEFAULT_COMPUTE_URL))
    store_url: str = field(default_factory=lambda: _text("store_url", DEFAULT_STORE_URL))
    mqtt_broker: str = field(default_factory=lambda: _text("mqtt_broker", DEFAULT_MQTT_HOST))
    mqtt_port: int = field(default_factory=_port)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """Read the variables of ``ENV_NAMES`` from ``environ`` (default ``os.environ``).

        ``CL_AUTH_URL``/``AUTH_URL``, ``CL_COMPUTE_URL``/``COMPUTE_URL``,
        ``CL_STORE_URL``/``STORE_URL``, ``CL_MQTT_HOST``/``CL_MQTT_BROKER``/``MQTT_BROKER`` and
        ``CL_MQTT_PORT``/``MQTT_PORT`` (int); unset or empty ones fall back to the defaults.
        """
        return cls(
            auth_url=_text("auth_url", DEFAULT_AUTH_URL, environ),
            compute_url=_text("compute_url", DEFAULT_COMPUTE_URL, environ),
            store_url=_text("store_url", DEFAULT_STORE_URL, environ),
            mqtt_broker=_text("mqtt_broker", DEFAULT_MQTT_HOST, environ),
            mqtt_port=_port(environ),
        )

    @classmethod
    def defaults(cls) -> ServerConfig:
        """The built-in defaults, whatever the environment says."""
        return cls.from_env({})
