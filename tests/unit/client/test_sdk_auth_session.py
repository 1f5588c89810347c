"""AuthClient and SessionManager against an in-memory auth service."""

from __future__ import annotations

import time

import httpx
import pytest

from cl_client import (
    AuthenticationError,
    JWTAuthProvider,
    MQTTJobMonitor,
    NoAuthProvider,
    PermissionError,
    ServerConfig,
    SessionManager,
    UserCreateRequest,
    UserUpdateRequest,
)
from cl_client.auth_client import AuthClient
from cl_client.exceptions import NotFoundError, ServerUnreachableError
from tests.unit.client.sdk_fakes import FakeAuthServer, FakeComputeServer


def auth_client(server: FakeAuthServer) -> AuthClient:
    return AuthClient(base_url="http://auth.test", transport=server.transport())


async def test_login_refresh_and_public_key() -> None:
    server = FakeAuthServer()
    async with auth_client(server) as client:
        token = await client.login("admin", "secret")
        assert token.token_type == "bearer"
        body = server.requests[-1].read().decode()
        assert "username=admin" in body and "password=secret" in body
        assert (
            server.requests[-1]
            .headers["content-type"]
            .startswith("application/x-www-form-urlencoded")
        )
        refreshed = await client.refresh_token(token.access_token)
        assert refreshed.access_token != token.access_token
        assert (await client.get_public_key()).algorithm == "ES256"
        me = await client.get_current_user(refreshed.access_token)
        assert me.username == "admin" and me.is_admin
        with pytest.raises(AuthenticationError) as info:
            await client.login("admin", "wrong")
        assert isinstance(info.value, httpx.HTTPStatusError)
        assert info.value.response.status_code == 401


async def test_user_crud_and_errors() -> None:
    server = FakeAuthServer()
    async with auth_client(server) as client:
        token = (await client.login("admin", "secret")).access_token
        created = await client.create_user(
            token, UserCreateRequest(username="bob", password="pw", permissions=["a", "b"])
        )
        assert created.permissions == ["a", "b"] and created.id == 2
        assert [u.username for u in await client.list_users(token)] == ["admin", "bob"]
        assert [u.username for u in await client.list_users(token, skip=1, limit=1)] == ["bob"]
        assert server.requests[-1].url.params["skip"] == "1"
        assert (await client.get_user(token, 2)).username == "bob"
        updated = await client.update_user(
            token, 2, UserUpdateRequest(permissions=[], is_active=False)
        )
        assert updated.permissions == [] and updated.is_active is False
        assert (await client.get_user_by_name(token, "bob")) is not None
        assert (await client.get_user_by_name(token, "zed")) is None
        bob_token = (await client.login("bob", "pw")).access_token
        with pytest.raises(PermissionError):
            await client.list_users(bob_token)
        await client.delete_user(token, 2)
        with pytest.raises(NotFoundError):
            await client.get_user(token, 2)


async def test_get_user_by_name_pages() -> None:
    server = FakeAuthServer()
    async with auth_client(server) as client:
        token = (await client.login("admin", "secret")).access_token
        for i in range(120):
            await client.create_user(token, UserCreateRequest(username=f"u{i}", password="p"))
        found = await client.get_user_by_name(token, "u110")
        assert found is not None and found.username == "u110"


async def test_unreachable_auth_service() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with AuthClient("http://down.test", transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(ServerUnreachableError, match=r"down\.test"):
            await client.login("a", "b")


def test_auth_client_base_url_from_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_URL", "http://env-auth:1")
    assert AuthClient().base_url == "http://env-auth:1"
    assert (
        AuthClient(server_config=ServerConfig(auth_url="http://cfg:2/")).base_url == "http://cfg:2"
    )
    session = SessionManager(base_url="http://explicit:3")
    assert session.auth_client.base_url == "http://explicit:3"
    assert session._auth_client is session.auth_client


async def test_session_login_logout_and_cached_user() -> None:
    server = FakeAuthServer()
    async with SessionManager(auth_client=auth_client(server)) as session:
        assert not session.is_authenticated()
        assert await session.get_current_user() is None
        with pytest.raises(ValueError):
            session.get_token()
        assert isinstance(session.auth_provider(), NoAuthProvider)
        await session.login("admin", "secret")
        assert session.is_authenticated()
        requests_after_login = len(server.requests)
        user = await session.get_current_user()
        assert user is not None and user.username == "admin"
        assert len(server.requests) == requests_after_login  # cached, no request
        assert isinstance(session.auth_provider(), JWTAuthProvider)
        await session.logout()
        assert not session.is_authenticated() and await session.get_current_user() is None


async def test_get_valid_token_refreshes_near_expiry() -> None:
    server = FakeAuthServer(token_lifetime_s=30)  # always under the 60 s margin
    async with SessionManager(auth_client=auth_client(server)) as session:
        await session.login("admin", "secret")
        first = session.get_token()
        second = await session.get_valid_token()
        assert second != first and server.refreshes == 1
        server.token_lifetime_s = 3600
        third = await session.get_valid_token()  # refreshed to a long-lived one
        assert server.refreshes == 2
        assert await session.get_valid_token() == third and server.refreshes == 2


async def test_compute_client_uses_current_token_per_request() -> None:
    auth = FakeAuthServer(token_lifetime_s=3600)
    compute = FakeComputeServer()
    config = ServerConfig(compute_url="http://compute.test", mqtt_port=1)
    async with SessionManager(server_config=config, auth_client=auth_client(auth)) as session:
        await session.login("admin", "secret")
        client = session.create_compute_client(
            mqtt_monitor=MQTTJobMonitor(connect=False), transport=compute.transport()
        )
        async with client:
            assert client.base_url == "http://compute.test"
            await client.get_capabilities()
            # Give the session a token with 10 s left: the next request refreshes it first.
            auth.token_lifetime_s = 10
            short_lived = auth._issue(1)
            session._token = short_lived
            auth.token_lifetime_s = 3600
            await client.get_capabilities()
        sent = [r.headers["authorization"] for r in compute.requests]
        assert sent[0] != sent[1]
        assert sent[1] != f"Bearer {short_lived}"
        assert sent[1] == f"Bearer {session.get_token()}"
        assert auth.refreshes == 1


async def test_refresh_is_shared_by_concurrent_callers() -> None:
    import asyncio

    server = FakeAuthServer(token_lifetime_s=10)
    async with SessionManager(auth_client=auth_client(server)) as session:
        await session.login("admin", "secret")
        server.token_lifetime_s = 3600
        tokens = await asyncio.gather(*(session.get_valid_token() for _ in range(5)))
        assert len(set(tokens)) == 1 and server.refreshes == 1


def test_token_expiry_helper_is_time_based() -> None:
    from cl_client.auth import token_needs_refresh
    from tests.unit.client.sdk_fakes import make_jwt

    assert token_needs_refresh(make_jwt(time.time() + 30))
    assert not token_needs_refresh(make_jwt(time.time() + 300))
