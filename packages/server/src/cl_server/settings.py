"""Settings of every service: built once in ``main``/factories and passed in, never read at import.

Each field can be set from the environment with the ``CL_`` prefix (for example ``CL_AUTH_PORT``);
the data directory is ``CL_SERVER_DIR``.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_CREDENTIALS_FILE = "mqtt-service.json"
"""The MQTT service credentials' file name inside ``keys_dir`` (the default
``MqttSettings.service_credentials_path``)."""

ENV_CREDENTIALS_LABEL = "CL_MQTT_USERNAME / CL_MQTT_PASSWORD"


def default_data_dir() -> Path:
    return Path(user_data_dir("cl-server", appauthor=False))


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CL_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        validation_alias=AliasChoices("CL_SERVER_DIR", "data_dir"),
    )

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"


class MqttSettings(_Settings):
    mqtt_host: str = "localhost"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    """``CL_MQTT_USERNAME``/``CL_MQTT_PASSWORD``: the service account the compute service and
    workers publish with (and the embedded broker accepts). When unset, the credentials in
    ``service_credentials_path`` are used, generated there at first start."""
    mqtt_credentials_file: Path | None = None
    """``CL_MQTT_CREDENTIALS_FILE``; default ``<data_dir>/keys/mqtt-service.json``."""

    @property
    def service_credentials_path(self) -> Path:
        return self.mqtt_credentials_file or self.keys_dir / SERVICE_CREDENTIALS_FILE

    @property
    def credentials_from_env(self) -> bool:
        """Both ``CL_MQTT_USERNAME`` and ``CL_MQTT_PASSWORD`` are set, so they are used instead of
        the credentials file."""
        return bool(self.mqtt_username) and self.mqtt_password is not None

    @property
    def credentials_source(self) -> str:
        """Where the service credentials come from, for messages."""
        if self.credentials_from_env:
            return ENV_CREDENTIALS_LABEL
        return str(self.service_credentials_path)


class AuthSettings(_Settings):
    host: str = "127.0.0.1"
    auth_port: int = 8000
    auth_database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/auth.db``."""
    token_lifetime_minutes: float = 30.0
    admin_username: str = "admin"
    admin_password: SecretStr | None = None

    @property
    def database_url(self) -> str:
        return self.auth_database_url or f"sqlite:///{self.data_dir / 'auth.db'}"


class StoreSettings(_Settings):
    compute_database_url: str | None = None
    """SQLAlchemy URL of the job store; default ``sqlite:///<data_dir>/compute.db``."""
    lease_seconds: float = 30.0
    max_attempts: int = 3

    @property
    def database_url(self) -> str:
        return self.compute_database_url or f"sqlite:///{self.data_dir / 'compute.db'}"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "compute" / "jobs"


class ComputeSettings(StoreSettings, MqttSettings):
    host: str = "127.0.0.1"
    compute_port: int = 8002
    no_auth: bool = False
    """Disable all auth checks on /jobs* and /admin*."""
    auth_url: str = "http://localhost:8000"
    """Where the auth service's public key is fetched from (``/auth/public-key``)."""
    public_key_path: Path | None = None
    """Read the ES256 public key from this PEM instead of (or before) asking ``auth_url``."""
    revocation_refresh_seconds: float = Field(default=1.0, gt=0)
    """How often the token revocation list is fetched from ``auth_url``
    (``CL_REVOCATION_REFRESH_SECONDS``); a revocation takes effect within about this long."""
    max_upload_bytes: int = 2 * 1024**3
    metrics_public: bool = False
    """Serve ``GET /metrics`` without auth (``CL_METRICS_PUBLIC``); by default it takes the same
    check as ``/jobs``, which is open anyway in guest mode and with auth disabled."""
    events_heartbeat_seconds: float = 15.0
    """``GET /events`` sends a ``: ping`` comment this often, so proxies keep idle streams open;
    each ping also re-checks the stream's token (``CL_EVENTS_HEARTBEAT_SECONDS``)."""
    events_buffer_size: int = 10_000
    """Events kept for ``Last-Event-ID`` resumes (``CL_EVENTS_BUFFER_SIZE``)."""
    mqtt_public_host: str | None = None
    """MQTT host that clients should use, reported by ``GET /`` (``CL_MQTT_PUBLIC_HOST``);
    default ``mqtt_host``. Set it when the name this service uses for the broker (``localhost``
    beside it, a container name...) is not one clients can reach."""
    mqtt_public_port: int | None = None
    """MQTT port reported to clients by ``GET /`` (``CL_MQTT_PUBLIC_PORT``); default
    ``mqtt_port``."""

    @property
    def client_mqtt_host(self) -> str:
        return self.mqtt_public_host or self.mqtt_host

    @property
    def client_mqtt_port(self) -> int:
        return self.mqtt_public_port or self.mqtt_port


class WorkerSettings(StoreSettings, MqttSettings):
    worker_id: str | None = None
    tasks: str = ""
    """Comma-separated task types; empty means every registered plugin."""
    concurrency: int = 1
    heartbeat_seconds: float = 10.0
    idle_poll_seconds: float = 1.0
    job_timeout_seconds: float = 3600.0
    """A job running longer is told to stop and fails (``CL_JOB_TIMEOUT_SECONDS``)."""
    job_timeout_grace_seconds: float = 30.0
    """How long a timed-out plugin may take to stop before the worker process gives up and exits."""
    models_dir: Path | None = None
