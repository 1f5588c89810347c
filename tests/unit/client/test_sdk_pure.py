"""Pure SDK logic: backoff, token expiry, config, payloads, exceptions, output paths."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cl_client import (
    AuthenticationError,
    ComputeClientError,
    JobFailedError,
    JobNotFoundError,
    JobResponse,
    JWTAuthProvider,
    NoAuthProvider,
    PermissionError,
    ServerConfig,
    UserCreateRequest,
    UserUpdateRequest,
    WorkerUnavailableError,
    get_default_auth,
)
from cl_client.auth import parse_token_expiry, token_needs_refresh
from cl_client.backoff import PollBackoff
from cl_client.config import ComputeClientConfig
from cl_client.exceptions import (
    ForbiddenError,
    InvalidRequestError,
    JobNotFoundHTTPError,
    JobTimeoutError,
    NotFoundError,
    ServerHTTPError,
    ServerUnreachableError,
    UnauthorizedError,
    raise_for_status,
    response_detail,
)
from cl_client.outputs import (
    playlist_uris,
    primary_output_file,
    resolve_relative,
    safe_destination,
)
from cl_client.plugins.base import drop_none, form_data
from tests.unit.client.sdk_fakes import make_jwt


def test_backoff_grows_by_factor_and_caps() -> None:
    backoff = PollBackoff(1.0, 1.5, 10.0)
    delays = [backoff.next_delay() for _ in range(9)]
    assert delays[:4] == pytest.approx([1.0, 1.5, 2.25, 3.375])
    assert max(delays) == 10.0
    assert delays[-1] == 10.0
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_backoff_defaults_come_from_config() -> None:
    backoff = PollBackoff()
    assert backoff.next_delay() == ComputeClientConfig.DEFAULT_POLL_INTERVAL
    assert backoff.next_delay() == pytest.approx(1.5)


def test_backoff_keeps_a_large_interval_and_rejects_bad_values() -> None:
    assert PollBackoff(12.0).next_delay() == 12.0
    assert PollBackoff(12.0).maximum == 12.0
    with pytest.raises(ValueError, match="positive"):
        PollBackoff(0)
    with pytest.raises(ValueError, match="multiplier"):
        PollBackoff(1.0, 0.5)


def test_token_expiry_is_parsed_from_payload() -> None:
    exp = int(time.time()) + 600
    token = make_jwt(exp, id="1")
    assert parse_token_expiry(token) == datetime.fromtimestamp(exp, tz=UTC)
    provider = JWTAuthProvider(token=token)
    assert provider._parse_token_expiry(token) == datetime.fromtimestamp(exp, tz=UTC)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b",
        "a.!!!.c",
        make_jwt(None, id="1"),  # no exp
        "eyJhbGciOiJFUzI1NiJ9.WzFd.sig",  # payload is a JSON list
        "eyJhbGciOiJFUzI1NiJ9.eyJleHAiOiAieCJ9.sig",  # exp is a string
        "eyJhbGciOiJFUzI1NiJ9.eyJleHAiOiB0cnVlfQ.sig",  # exp is a bool
        "eyJhbGciOiJFUzI1NiJ9.eyJleHAiOiAxZTMwMH0.sig",  # exp out of range
    ],
)
def test_token_expiry_none_on_parse_problems(token: str) -> None:
    assert parse_token_expiry(token) is None
    assert token_needs_refresh(token) is False


def test_should_refresh_under_sixty_seconds() -> None:
    now = datetime.now(UTC)
    soon = make_jwt((now + timedelta(seconds=59)).timestamp())
    later = make_jwt((now + timedelta(seconds=120)).timestamp())
    expired = make_jwt((now - timedelta(seconds=5)).timestamp())
    provider = JWTAuthProvider(token=later)
    assert provider.should_refresh(soon) is True
    assert provider.should_refresh(expired) is True
    assert provider.should_refresh(later) is False
    assert token_needs_refresh(later, now=now + timedelta(seconds=61)) is True


async def test_jwt_provider_token_sources() -> None:
    with pytest.raises(ValueError):
        JWTAuthProvider()
    assert JWTAuthProvider(token="abc").get_headers() == {"Authorization": "Bearer abc"}
    current = {"token": "one"}
    provider = JWTAuthProvider(get_cached_token=lambda: current["token"])
    assert provider.get_token() == "one"
    current["token"] = "two"
    assert provider.get_headers() == {"Authorization": "Bearer two"}
    await provider.refresh_token_if_needed()  # no async getter: a no-op

    calls: list[int] = []

    async def refresh() -> str:
        calls.append(1)
        return "three"

    refreshing = JWTAuthProvider(get_cached_token=lambda: "x", get_valid_token_async=refresh)
    await refreshing.refresh_token_if_needed()
    assert calls == [1]


async def test_no_auth_provider() -> None:
    assert NoAuthProvider().get_headers() == {}
    assert isinstance(get_default_auth(), NoAuthProvider)
    await NoAuthProvider().refresh_token_if_needed()


def test_server_config_defaults_and_env() -> None:
    assert ServerConfig.from_env({}) == ServerConfig()
    config = ServerConfig.from_env(
        {
            "AUTH_URL": "http://a:1",
            "COMPUTE_URL": "http://c:2",
            "STORE_URL": "http://s:3",
            "MQTT_BROKER": "broker",
            "MQTT_PORT": "1999",
        }
    )
    assert config == ServerConfig("http://a:1", "http://c:2", "http://s:3", "broker", 1999)
    assert ServerConfig.from_env({"MQTT_PORT": " "}).mqtt_port == 1883
    with pytest.raises(ValueError, match="MQTT_PORT"):
        ServerConfig.from_env({"MQTT_PORT": "x"})


def test_server_config_reads_process_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPUTE_URL", "http://from-env:9")
    assert ServerConfig.from_env().compute_url == "http://from-env:9"


def test_config_endpoints() -> None:
    assert ComputeClientConfig.get_plugin_endpoint("hash") == "/jobs/hash"
    assert len(ComputeClientConfig.PLUGIN_ENDPOINTS) == 9
    with pytest.raises(ValueError, match="Unknown task type"):
        ComputeClientConfig.get_plugin_endpoint("nope")


def test_form_data_stringifies_params() -> None:
    data = form_data({"normalize": True, "quality": 85, "tags": None, "x": 0.5}, 5)
    assert data == {"priority": "5", "normalize": "True", "quality": "85", "tags": "", "x": "0.5"}
    assert form_data(None, 9) == {"priority": "9"}
    assert drop_none(a=1, b=None, c=False) == {"a": 1, "c": False}


def test_user_payloads_join_permissions() -> None:
    create = UserCreateRequest(username="u", password="p", permissions=["a", "b"])
    assert create.to_api_payload() == {
        "username": "u",
        "password": "p",
        "is_admin": "false",
        "is_active": "true",
        "permissions": "a,b",
    }
    assert UserUpdateRequest().to_api_payload() == {}
    update = UserUpdateRequest(permissions=[], is_admin=True)
    assert update.to_api_payload() == {"permissions": "", "is_admin": "true"}


def test_models_ignore_unknown_fields() -> None:
    job = JobResponse.model_validate(
        {"job_id": "j", "task_type": "hash", "status": "completed", "created_at": 1, "new": 1}
    )
    assert job.progress == 0 and job.priority == 5 and job.params == {}
    assert job.is_terminal


def _response(status: int, body: object = None, text: str | None = None) -> httpx.Response:
    request = httpx.Request("GET", "http://svc/jobs/j1")
    if text is not None:
        return httpx.Response(status, text=text, request=request)
    return httpx.Response(status, json=body, request=request)


@pytest.mark.parametrize(
    ("status", "job_id", "expected", "also"),
    [
        (401, None, UnauthorizedError, AuthenticationError),
        (403, None, ForbiddenError, PermissionError),
        (404, "j1", JobNotFoundHTTPError, JobNotFoundError),
        (404, None, NotFoundError, ServerHTTPError),
        (422, None, InvalidRequestError, ServerHTTPError),
        (400, None, InvalidRequestError, ServerHTTPError),
        (500, None, ServerHTTPError, ComputeClientError),
    ],
)
def test_raise_for_status_types(
    status: int, job_id: str | None, expected: type[Exception], also: type[Exception]
) -> None:
    with pytest.raises(expected) as info:
        raise_for_status(_response(status, {"detail": "boom"}), job_id=job_id)
    error = info.value
    assert isinstance(error, also)
    assert isinstance(error, httpx.HTTPStatusError)
    assert isinstance(error, ComputeClientError)
    assert error.response.status_code == status
    assert "boom" in str(error)
    if job_id is not None:
        assert isinstance(error, JobNotFoundError) and error.job_id == job_id


def test_raise_for_status_passes_success() -> None:
    raise_for_status(_response(200, {}))
    raise_for_status(_response(204, None))


def test_response_detail_shapes() -> None:
    body = {"detail": [{"loc": ["body", "file"], "msg": "Field required"}, "other"]}
    assert response_detail(_response(422, body)) == "body.file: Field required; other"
    assert response_detail(_response(500, text="plain failure ")) == "plain failure"
    assert response_detail(_response(500, {"error": "x"})) == '{"error":"x"}'
    error = ServerHTTPError(
        "m", request=_response(1).request, response=_response(418, {"detail": "t"})
    )
    assert error.status_code == 418 and error.detail == "t"


def test_typed_exceptions_messages() -> None:
    job = JobResponse(
        job_id="j9", task_type="hash", status="failed", error_message="bad", created_at=1
    )
    assert "j9" in str(JobFailedError(job)) and "bad" in str(JobFailedError(job))
    unavailable = WorkerUnavailableError("hash", {"exif": 1, "hash": 0})
    assert "hash" in str(unavailable) and unavailable.available_capabilities == {
        "exif": 1,
        "hash": 0,
    }
    assert "none" in str(WorkerUnavailableError("hash", {}))
    timeout = JobTimeoutError("j1", 2.5, "processing")
    assert isinstance(timeout, TimeoutError) and isinstance(timeout, ComputeClientError)
    assert "j1" in str(timeout) and "timeout" in str(timeout) and "processing" in str(timeout)
    unreachable = ServerUnreachableError("http://x", "refused")
    assert isinstance(unreachable, httpx.ConnectError) and "http://x" in str(unreachable)
    assert JobNotFoundError("abc").job_id == "abc"


def test_playlist_parsing_and_paths() -> None:
    text = (
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nadaptive-720p-3500.m3u8\n\n# c\nhttp://x/y.m3u8\n"
    )
    assert playlist_uris(text) == ["adaptive-720p-3500.m3u8", "http://x/y.m3u8"]
    assert resolve_relative("output/adaptive.m3u8", "a.m3u8") == "output/a.m3u8"
    assert resolve_relative("output/a.m3u8", "seg/0.ts") == "output/seg/0.ts"
    assert resolve_relative("output/a.m3u8", "http://x/y.ts") is None
    assert resolve_relative("output/a.m3u8", "/abs.ts") is None
    assert resolve_relative("a.m3u8", "../up.ts") is None


def test_safe_destination_blocks_escapes(tmp_path: Path) -> None:
    assert safe_destination(tmp_path, "output/a.json") == tmp_path / "output" / "a.json"
    for bad in ("../x", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError, match="Refusing"):
            safe_destination(tmp_path, bad)


def test_primary_output_file() -> None:
    def job(task_type: str, params: dict[str, object]) -> JobResponse:
        return JobResponse(
            job_id="j", task_type=task_type, status="completed", params=params, created_at=1
        )

    assert (
        primary_output_file(job("hash", {"output_path": "output/hash.json"})) == "output/hash.json"
    )
    assert (
        primary_output_file(job("hls_streaming", {"output_path": "output"}))
        == "output/adaptive.m3u8"
    )
    assert primary_output_file(job("hash", {})) is None
