"""Service credentials for the MQTT broker: who may publish job events and capability messages.

The compute service and the workers publish with one shared service identity; every other
client (the SDK, dashboards, ``mosquitto_sub``) is anonymous and may only read
``inference/events`` and ``inference/workers/+`` (see ``cl_server.broker.access`` for the
embedded broker and ``cl_server.broker.mosquitto`` for Mosquitto).

The credentials are generated at first start and kept in ``<data_dir>/keys/mqtt-service.json``
(mode 0600, directory 0700, like the auth service's signing keys), so every process sharing the
data directory (``cl-server up``, or ``broker``/``compute``/``worker`` started by hand) agrees on
them. ``CL_MQTT_USERNAME``/``CL_MQTT_PASSWORD`` override the file, for an external broker whose
accounts are managed elsewhere or for services on another machine.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cl_server.private_files import ensure_private_dir, write_private_file
from cl_server.settings import MqttSettings

logger = logging.getLogger(__name__)

SERVICE_USERNAME = "cl-service"


@dataclass(frozen=True)
class ServiceCredentials:
    username: str
    password: str = field(repr=False)  # never in logs or tracebacks


def generate_service_credentials(username: str = SERVICE_USERNAME) -> ServiceCredentials:
    """Fresh credentials with a 256-bit random password (URL-safe text, no ``:``)."""
    return ServiceCredentials(username=username, password=secrets.token_urlsafe(32))


def _encode(credentials: ServiceCredentials) -> bytes:
    document = {"username": credentials.username, "password": credentials.password}
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def _decode(data: bytes) -> ServiceCredentials | None:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    username: object = document.get("username")  # pyright: ignore[reportUnknownMemberType]
    password: object = document.get("password")  # pyright: ignore[reportUnknownMemberType]
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return None
    if not password or ":" in username:
        return None
    return ServiceCredentials(username=username, password=password)


def load_or_create_service_credentials(path: Path) -> ServiceCredentials:
    """The credentials stored at ``path``, generated and saved (0600) when the file is missing.

    Safe when several processes start together: exactly one file is written and all of them
    read it. A malformed file is replaced by new credentials (logged), after which a Mosquitto
    password file made from the old ones must be generated again. A file provisioned by someone
    else (another owner, a read-only directory) is used as it is.
    """
    ensure_private_dir(path.parent, foreign_ok=True)
    for _ in range(3):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            created = generate_service_credentials()
            try:
                write_private_file(path, _encode(created), 0o600, exclusive=True)
            except FileExistsError:
                continue  # someone else just wrote it: read theirs
            logger.info("Generated MQTT service credentials in %s", path)
            return created
        existing = _decode(data)
        if existing is not None:
            if path.stat().st_mode & 0o077:
                with contextlib.suppress(PermissionError):
                    path.chmod(0o600)  # tighten a file copied in with loose permissions
            return existing
        logger.warning("Ignoring malformed MQTT service credentials %s; making new ones", path)
        created = generate_service_credentials()
        write_private_file(path, _encode(created), 0o600)
        return created
    raise OSError(f"could not read or create the MQTT service credentials in {path}")


def service_credentials(settings: MqttSettings) -> ServiceCredentials:
    """What this process uses: ``CL_MQTT_USERNAME``/``CL_MQTT_PASSWORD`` when both are set,
    otherwise the data directory's credentials file (created on first use)."""
    if settings.credentials_from_env:
        username, password = settings.mqtt_username, settings.mqtt_password
        assert username is not None and password is not None  # what credentials_from_env means
        return ServiceCredentials(username=username, password=password.get_secret_value())
    if settings.mqtt_username or settings.mqtt_password is not None:
        logger.warning(
            "Only one of CL_MQTT_USERNAME / CL_MQTT_PASSWORD is set; using %s instead",
            settings.service_credentials_path,
        )
    return load_or_create_service_credentials(settings.service_credentials_path)
