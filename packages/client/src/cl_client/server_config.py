"""Where the services live (PROTOCOL.md §7.2): one dataclass, filled from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class ServerConfig:
    """URLs of the three HTTP services and the MQTT broker address."""

    auth_url: str = "http://localhost:8000"
    compute_url: str = "http://localhost:8002"
    store_url: str = "http://localhost:8001"
    mqtt_broker: str = "localhost"
    mqtt_port: int = 1883

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """Read ``AUTH_URL``, ``COMPUTE_URL``, ``STORE_URL``, ``MQTT_BROKER``, ``MQTT_PORT``.

        Unset or empty variables fall back to the defaults. A non-integer ``MQTT_PORT`` raises
        ``ValueError`` naming the variable, instead of silently using the default.
        """
        env = os.environ if environ is None else environ
        defaults = cls()

        def pick(name: str, default: str) -> str:
            value = env.get(name, "").strip()
            return value or default

        port_text = env.get("MQTT_PORT", "").strip()
        try:
            port = int(port_text) if port_text else defaults.mqtt_port
        except ValueError:
            raise ValueError(f"MQTT_PORT must be an integer, got {port_text!r}") from None
        return cls(
            auth_url=pick("AUTH_URL", defaults.auth_url),
            compute_url=pick("COMPUTE_URL", defaults.compute_url),
            store_url=pick("STORE_URL", defaults.store_url),
            mqtt_broker=pick("MQTT_BROKER", defaults.mqtt_broker),
            mqtt_port=port,
        )
