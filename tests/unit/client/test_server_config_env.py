"""One set of setting names: ``CL_*`` first, the original SDK names as fallbacks, arguments over
both, for ``ServerConfig`` and for the options of ``cl-client``/``cl-admin``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from cl_client import ServerConfig
from cl_client.cli.admin import app as admin_app
from cl_client.cli.main import app as client_app
from cl_client.server_config import ENV_NAMES
from cl_client.service_models import ServiceInfo

ALL_NAMES = sorted({name for names in ENV_NAMES.values() for name in names})

DEFAULTS = ServerConfig(
    "http://localhost:8000", "http://localhost:8002", "http://localhost:8001", "localhost", 1883
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ALL_NAMES:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def _set(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_names_cover_every_field_with_the_cl_name_first() -> None:
    assert set(ENV_NAMES) == {"auth_url", "compute_url", "store_url", "mqtt_broker", "mqtt_port"}
    assert ENV_NAMES["auth_url"] == ("CL_AUTH_URL", "AUTH_URL")
    assert ENV_NAMES["compute_url"] == ("CL_COMPUTE_URL", "COMPUTE_URL")
    assert ENV_NAMES["store_url"] == ("CL_STORE_URL", "STORE_URL")
    assert ENV_NAMES["mqtt_broker"] == ("CL_MQTT_HOST", "CL_MQTT_BROKER", "MQTT_BROKER")
    assert ENV_NAMES["mqtt_port"] == ("CL_MQTT_PORT", "MQTT_PORT")


def test_defaults_without_environment() -> None:
    assert ServerConfig() == DEFAULTS
    assert ServerConfig.from_env() == DEFAULTS
    assert ServerConfig.from_env({}) == DEFAULTS


def test_cl_names_are_read() -> None:
    config = ServerConfig.from_env(
        {
            "CL_AUTH_URL": "http://a:1",
            "CL_COMPUTE_URL": "http://c:2",
            "CL_STORE_URL": "http://s:3",
            "CL_MQTT_HOST": "broker",
            "CL_MQTT_PORT": "1999",
        }
    )
    assert config == ServerConfig("http://a:1", "http://c:2", "http://s:3", "broker", 1999)


def test_protocol_names_are_fallbacks_and_cl_names_win() -> None:
    old = {
        "AUTH_URL": "http://old-a:1",
        "COMPUTE_URL": "http://old-c:2",
        "STORE_URL": "http://old-s:3",
        "MQTT_BROKER": "old-broker",
        "MQTT_PORT": "1111",
    }
    assert ServerConfig.from_env(old) == ServerConfig(
        "http://old-a:1", "http://old-c:2", "http://old-s:3", "old-broker", 1111
    )
    both = {
        **old,
        "CL_AUTH_URL": "http://a:1",
        "CL_COMPUTE_URL": "http://c:2",
        "CL_STORE_URL": "http://s:3",
        "CL_MQTT_HOST": "broker",
        "CL_MQTT_PORT": "2222",
    }
    assert ServerConfig.from_env(both) == ServerConfig(
        "http://a:1", "http://c:2", "http://s:3", "broker", 2222
    )


def test_mqtt_host_order_and_empty_values_count_as_unset() -> None:
    assert ServerConfig.from_env({"CL_MQTT_BROKER": "b", "MQTT_BROKER": "c"}).mqtt_broker == "b"
    assert ServerConfig.from_env({"CL_MQTT_HOST": "a", "CL_MQTT_BROKER": "b"}).mqtt_broker == "a"
    # An empty (or blank) CL_ variable does not hide the older name.
    assert ServerConfig.from_env({"CL_AUTH_URL": " ", "AUTH_URL": "http::x"}).auth_url == "http::x"
    assert ServerConfig.from_env({"CL_MQTT_PORT": "", "MQTT_PORT": "7"}).mqtt_port == 7


def test_bad_port_names_the_variable_that_held_it() -> None:
    with pytest.raises(ValueError, match="CL_MQTT_PORT must be an integer"):
        ServerConfig.from_env({"CL_MQTT_PORT": "x", "MQTT_PORT": "1"})
    with pytest.raises(ValueError, match=r"^MQTT_PORT must be an integer"):
        ServerConfig.from_env({"MQTT_PORT": "x"})


def test_constructor_reads_the_environment_but_arguments_win(
    clean_env: pytest.MonkeyPatch,
) -> None:
    _set(
        clean_env,
        {
            "CL_AUTH_URL": "http://env-a:1",
            "COMPUTE_URL": "http://env-c:2",
            "CL_MQTT_HOST": "env-broker",
            "MQTT_PORT": "3333",
        },
    )
    assert ServerConfig() == ServerConfig.from_env()
    assert ServerConfig() == ServerConfig(
        "http://env-a:1", "http://env-c:2", "http://localhost:8001", "env-broker", 3333
    )
    explicit = ServerConfig(auth_url="http://arg:9", mqtt_port=1884)
    assert explicit.auth_url == "http://arg:9"
    assert explicit.mqtt_port == 1884
    assert explicit.compute_url == "http://env-c:2"  # not given: from the environment
    assert explicit.mqtt_broker == "env-broker"
    # An explicit mapping is read alone; defaults() ignores the environment.
    assert ServerConfig.from_env({}) == DEFAULTS
    assert ServerConfig.defaults() == DEFAULTS


def test_constructor_is_read_at_call_time(clean_env: pytest.MonkeyPatch) -> None:
    first = ServerConfig()
    clean_env.setenv("CL_COMPUTE_URL", "http://later:1")
    assert first.compute_url == "http://localhost:8002"
    assert ServerConfig().compute_url == "http://later:1"


def _options(app: typer.Typer, args: list[str], subcommand: list[str]) -> dict[str, Any]:
    """The global option values the CLI parses from ``args`` and the environment."""
    command = typer.main.get_command(app)
    with command.make_context("cl", [*args, *subcommand]) as ctx:
        return dict(ctx.params)


def _client_options(*args: str) -> dict[str, Any]:
    return _options(client_app, list(args), ["compute", "capabilities"])


def test_cli_reads_the_same_names_with_the_same_precedence(
    clean_env: pytest.MonkeyPatch,
) -> None:
    params = _client_options()
    assert (params["auth_url"], params["compute_url"], params["store_url"]) == (
        "http://localhost:8000",
        "http://localhost:8002",
        "http://localhost:8001",
    )
    assert (params["mqtt_broker"], params["mqtt_port"]) == ("localhost", 1883)

    _set(
        clean_env,
        {
            "AUTH_URL": "http://old-a:1",
            "COMPUTE_URL": "http://old-c:2",
            "STORE_URL": "http://old-s:3",
            "MQTT_BROKER": "old-broker",
            "MQTT_PORT": "1111",
        },
    )
    params = _client_options()
    assert params["auth_url"] == "http://old-a:1"
    assert params["compute_url"] == "http://old-c:2"
    assert params["store_url"] == "http://old-s:3"
    assert (params["mqtt_broker"], params["mqtt_port"]) == ("old-broker", 1111)

    clean_env.setenv("CL_MQTT_BROKER", "cl-broker")  # the CLI's former name
    assert _client_options()["mqtt_broker"] == "cl-broker"

    _set(
        clean_env,
        {
            "CL_AUTH_URL": "http://a:1",
            "CL_COMPUTE_URL": "http://c:2",
            "CL_STORE_URL": "http://s:3",
            "CL_MQTT_HOST": "broker",
            "CL_MQTT_PORT": "2222",
        },
    )
    params = _client_options()
    assert params["auth_url"] == "http://a:1"
    assert params["compute_url"] == "http://c:2"
    assert params["store_url"] == "http://s:3"
    assert (params["mqtt_broker"], params["mqtt_port"]) == ("broker", 2222)

    # Options beat every variable; the old --mqtt-broker spelling still works.
    params = _client_options(
        "--mqtt-host", "opt-host", "--mqtt-port", "5", "--auth-url", "http://o"
    )
    assert (params["mqtt_broker"], params["mqtt_port"], params["auth_url"]) == (
        "opt-host",
        5,
        "http://o",
    )
    assert _client_options("--mqtt-broker", "legacy")["mqtt_broker"] == "legacy"


def test_cl_admin_reads_the_same_auth_url_names(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AUTH_URL", "http://old:1")
    assert _options(admin_app, [], ["users", "list"])["auth_url"] == "http://old:1"
    clean_env.setenv("CL_AUTH_URL", "http://new:2")
    assert _options(admin_app, [], ["users", "list"])["auth_url"] == "http://new:2"


def test_service_info_reads_the_mqtt_address_and_tolerates_old_servers() -> None:
    info = ServiceInfo.model_validate(
        {
            "status": "healthy",
            "service": "compute",
            "version": "v1",
            "guestMode": "on",
            "auth_required": False,
            "mqtt_host": "mqtt.example",
            "mqtt_port": 8883,
        }
    )
    assert (info.mqtt_host, info.mqtt_port) == ("mqtt.example", 8883)
    old = ServiceInfo.model_validate({"status": "healthy", "service": "compute", "version": "v1"})
    assert (old.mqtt_host, old.mqtt_port) == (None, None)
