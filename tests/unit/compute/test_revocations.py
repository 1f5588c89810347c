"""Compute's copy of the revocation list: fetching, ETags, failures, and the token check."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cl_server.auth.revocations import RevocationList, publish
from cl_server.compute.access import authorize, verify_token
from cl_server.compute.errors import NotAuthenticatedError
from cl_server.compute.public_key import PublicKeySource
from cl_server.compute.revocations import RevocationCache, RevocationFetchError

AUTH_URL = "http://auth.test"


class FakeAuth:
    """``GET /auth/revocations`` as the auth service answers it, or failing on demand."""

    def __init__(self) -> None:
        self.revocations = RevocationList()
        self.down = False
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url == f"{AUTH_URL}/auth/revocations"
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        published = publish(self.revocations)
        if request.headers.get("If-None-Match") == published.etag:
            return httpx.Response(304, headers={"ETag": published.etag})
        return httpx.Response(200, content=published.body, headers={"ETag": published.etag})


@pytest.fixture
def auth() -> FakeAuth:
    return FakeAuth()


def _cache(auth: FakeAuth, refresh_seconds: float = 1.0) -> RevocationCache:
    return RevocationCache(
        AUTH_URL, refresh_seconds=refresh_seconds, transport=httpx.MockTransport(auth.handle)
    )


def _client(auth: FakeAuth) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(auth.handle))


def test_is_revoked_rules() -> None:
    cache = RevocationCache(AUTH_URL)
    assert not cache.is_revoked("1", 0)  # nothing fetched yet: nothing revoked
    assert cache.age is None
    cache.apply(RevocationList(token_versions={"1": 2}, deleted=["5"]))
    assert cache.is_revoked("1", 0) and cache.is_revoked("1", 1)
    assert not cache.is_revoked("1", 2) and not cache.is_revoked("1", 3)
    assert cache.is_revoked("5", 0) and cache.is_revoked("5", 99)
    assert not cache.is_revoked("2", 0)
    age = cache.age
    assert age is not None and age < 5


async def test_fetch_applies_the_list_and_then_uses_the_etag(auth: FakeAuth) -> None:
    cache = _cache(auth)
    auth.revocations = RevocationList(token_versions={"3": 1})
    async with _client(auth) as client:
        await cache.fetch_once(client)
        assert cache.is_revoked("3", 0)
        await cache.fetch_once(client)  # unchanged: a 304, the list stays
        assert cache.is_revoked("3", 0)
        auth.revocations = RevocationList(token_versions={"3": 1}, deleted=["4"])
        await cache.fetch_once(client)
        assert cache.is_revoked("4", 0)
    assert "If-None-Match" not in auth.requests[0].headers
    assert (
        auth.requests[1].headers["If-None-Match"]
        == publish(RevocationList(token_versions={"3": 1})).etag
    )


async def test_failures_keep_the_last_good_list_and_log_once(
    auth: FakeAuth, caplog: pytest.LogCaptureFixture
) -> None:
    cache = _cache(auth)
    auth.revocations = RevocationList(deleted=["9"])
    caplog.set_level(logging.INFO, logger="cl_server.compute.revocations")
    async with _client(auth) as client:
        assert await cache.refresh(client)
        auth.down = True
        for _ in range(3):
            assert not await cache.refresh(client)
        assert cache.is_revoked("9", 0)  # still in force while auth is down
        auth.down = False
        auth.revocations = RevocationList()
        assert await cache.refresh(client)
    assert not cache.is_revoked("9", 0)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == ["WARNING", "INFO"]
    assert "retrying every 1 s" in messages[0][1] and "ConnectError" in messages[0][1]


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(404, json={"detail": "Not Found"}),
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, json={"token_versions": {"1": "x"}}),
        httpx.Response(304),  # a 304 to a request without If-None-Match
    ],
)
async def test_bad_answers_are_failures(response: httpx.Response) -> None:
    cache = RevocationCache(AUTH_URL)
    cache.apply(RevocationList(deleted=["1"]))
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: response)) as client:
        with pytest.raises(RevocationFetchError):
            await cache.fetch_once(client)
    assert cache.is_revoked("1", 0)


async def test_a_hanging_auth_service_times_out() -> None:
    async def hang(_request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    cache = RevocationCache(AUTH_URL, timeout=0.05)
    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
        started = time.monotonic()
        assert not await cache.refresh(client)
    assert time.monotonic() - started < 2


async def test_start_fetches_at_once_and_polls_until_stopped(auth: FakeAuth) -> None:
    auth.revocations = RevocationList(deleted=["1"])
    cache = _cache(auth, refresh_seconds=0.01)
    await cache.start()
    try:
        assert cache.is_revoked("1", 0)  # the first fetch happened before start() returned
        auth.revocations = RevocationList(deleted=["1", "2"])
        deadline = time.monotonic() + 5
        while not cache.is_revoked("2", 0):
            assert time.monotonic() < deadline, "the change was not picked up"
            await asyncio.sleep(0.01)
    finally:
        await cache.stop()
    count = len(auth.requests)
    await asyncio.sleep(0.05)
    assert len(auth.requests) == count  # stopped means stopped
    await cache.stop()  # idempotent


async def test_start_with_auth_down_does_not_fail(auth: FakeAuth) -> None:
    auth.down = True
    cache = _cache(auth, refresh_seconds=0.01)
    await cache.start()
    try:
        assert not cache.is_revoked("1", 0)
        auth.down = False
        auth.revocations = RevocationList(deleted=["1"])
        deadline = time.monotonic() + 5
        while not cache.is_revoked("1", 0):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    finally:
        await cache.stop()


# --- the token check -------------------------------------------------------------------------


@pytest.fixture
def signing(tmp_path: Path) -> tuple[ec.EllipticCurvePrivateKey, PublicKeySource, RevocationCache]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "public.pem"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    revocations = RevocationCache(AUTH_URL)
    source = PublicKeySource(key_path=path, auth_url=AUTH_URL, revocations=revocations)
    return key, source, revocations


def _token(key: ec.EllipticCurvePrivateKey, **claims: object) -> str:
    now = int(time.time())
    base: dict[str, object] = {
        "id": "7",
        "permissions": ["ai_inference_support"],
        "is_admin": False,
        "exp": now + 60,
        "iat": now,
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, key, algorithm="ES256")


def test_revoked_tokens_get_the_invalid_credentials_401(
    signing: tuple[ec.EllipticCurvePrivateKey, PublicKeySource, RevocationCache],
) -> None:
    key, source, revocations = signing
    old, renewed = _token(key, token_version=0), _token(key, token_version=1)
    legacy = _token(key)  # issued before token versions existed
    for token in (old, renewed, legacy):
        assert verify_token(token, source).user_id == "7"
    revocations.apply(RevocationList(token_versions={"7": 1}))
    for token in (old, legacy):
        with pytest.raises(NotAuthenticatedError, match="Could not validate credentials") as info:
            authorize("enforced", f"Bearer {token}", source, admin=False)
        assert info.value.status_code == 401
        assert info.value.headers == {"WWW-Authenticate": "Bearer"}
    assert authorize("enforced", f"Bearer {renewed}", source, admin=False).user_id == "7"
    revocations.apply(RevocationList(deleted=["7"]))
    with pytest.raises(NotAuthenticatedError, match="Could not validate credentials"):
        verify_token(renewed, source)
    # The open states never look at the token, revoked or not.
    assert authorize("guest", f"Bearer {renewed}", source, admin=True).user_id is None


@pytest.mark.parametrize("version", [-1, "1", True, 1.0])
def test_a_malformed_token_version_is_an_invalid_payload(
    signing: tuple[ec.EllipticCurvePrivateKey, PublicKeySource, RevocationCache],
    version: object,
) -> None:
    key, source, _ = signing
    with pytest.raises(NotAuthenticatedError, match="JWT payload is invalid"):
        verify_token(_token(key, token_version=version), source)


def test_iat_a_little_ahead_is_clock_skew_not_an_error(
    signing: tuple[ec.EllipticCurvePrivateKey, PublicKeySource, RevocationCache],
) -> None:
    key, source, _ = signing
    assert verify_token(_token(key, iat=int(time.time()) + 5), source).user_id == "7"
    with pytest.raises(NotAuthenticatedError, match="Could not validate credentials"):
        verify_token(_token(key, iat=int(time.time()) + 600), source)


def test_without_a_cache_nothing_is_revoked(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "public.pem"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    source = PublicKeySource(key_path=path, auth_url=AUTH_URL)
    assert source.revocations is None
    assert verify_token(_token(key, token_version=0), source).user_id == "7"


async def test_failures_before_any_list_are_info_until_they_last(
    auth: FakeAuth, caplog: pytest.LogCaptureFixture
) -> None:
    """``cl-server up`` starts compute beside auth: a refused first fetch is no warning yet."""
    auth.down = True
    cache = RevocationCache(AUTH_URL, warn_after=0.05, transport=httpx.MockTransport(auth.handle))
    caplog.set_level(logging.INFO, logger="cl_server.compute.revocations")
    async with _client(auth) as client:
        assert not await cache.refresh(client)
        assert not await cache.refresh(client)
        await asyncio.sleep(0.06)
        assert not await cache.refresh(client)
        assert not await cache.refresh(client)
        auth.down = False
        assert await cache.refresh(client)
    assert not cache.failing
    levels = [r.levelname for r in caplog.records]
    assert levels == ["INFO", "WARNING", "INFO"]
    assert "revoking nothing until it answers" in caplog.records[1].getMessage()


async def test_a_malformed_auth_url_is_a_failure_not_a_crash() -> None:
    cache = RevocationCache("http://exa mple:bad")
    never = httpx.MockTransport(lambda _r: httpx.Response(200))
    async with httpx.AsyncClient(transport=never) as client:
        assert not await cache.refresh(client)
    assert cache.failing
