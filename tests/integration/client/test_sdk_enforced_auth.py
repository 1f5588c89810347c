"""The SDK against a stack that enforces JWT auth: sessions, refresh, users, 401/403, guest mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from cl_client import (
    AuthenticationError,
    ComputeClient,
    JWTAuthProvider,
    PermissionError,
    ServerConfig,
    SessionManager,
    UserCreateRequest,
    UserUpdateRequest,
)
from cl_client.auth import parse_token_expiry
from cl_client.auth_client import AuthClient
from cl_client.exceptions import NotFoundError
from tests.integration.client.conftest import CallbackRecorder, Media
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration

#: 0.9 min = 54 s: always inside the SDK's 60 s refresh margin, so every use refreshes.
SHORT_LIFETIME_MIN = 0.9


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("sdk-enforced"),
        mode="enforced",
        workers=1,
        tasks=["hash", "exif"],
        token_lifetime_minutes=SHORT_LIFETIME_MIN,
    ) as running:
        yield running


def config(stack: Stack) -> ServerConfig:
    return ServerConfig(
        auth_url=stack.auth_url,
        compute_url=stack.compute_url,
        mqtt_broker=stack.mqtt_host,
        mqtt_port=stack.mqtt_port,
    )


@pytest.fixture
async def admin_session(stack: Stack) -> AsyncIterator[SessionManager]:
    async with SessionManager(server_config=config(stack)) as session:
        await session.login(stack.admin_username, stack.admin_password)
        yield session


async def make_user(session: SessionManager, name: str, permissions: list[str]) -> None:
    request = UserCreateRequest(username=name, password="pw-" + name, permissions=permissions)
    await session.auth_client.create_user(session.get_token(), request)


async def test_admin_session_runs_jobs_by_polling_and_callbacks(
    admin_session: SessionManager, media: Media
) -> None:
    user = await admin_session.get_current_user()
    assert user is not None and user.is_admin
    async with admin_session.create_compute_client() as client:
        assert isinstance(client.auth, JWTAuthProvider)
        assert (await client.get_service_info()).auth_required is True
        job = await client.hash.compute(media.photo, wait=True, timeout=30)
        assert job.status == "completed"
        recorder = CallbackRecorder()
        await client.exif.extract(media.photo, on_complete=recorder.on_complete)
        assert (await recorder.wait(30)).status == "completed"


async def test_short_lived_token_is_refreshed(admin_session: SessionManager, media: Media) -> None:
    first = admin_session.get_token()
    expiry = parse_token_expiry(first)
    assert expiry is not None  # the server setting made it short-lived
    async with admin_session.create_compute_client() as client:
        await client.get_job((await client.hash.compute(media.photo)).job_id)
        second = admin_session.get_token()
        assert second != first  # refreshed before use: under 60 s were left
        job = await client.hash.compute(media.photo, wait=True, timeout=30)
        assert job.status == "completed"
    refreshed = await admin_session.auth_client.get_current_user(admin_session.get_token())
    assert refreshed.username == "admin"  # the refreshed token is valid for the same user


async def test_no_token_is_401_and_bad_token_is_401(stack: Stack, media: Media) -> None:
    async with ComputeClient(server_config=config(stack)) as anonymous:
        with pytest.raises(AuthenticationError) as info:
            await anonymous.hash.compute(media.photo)
        assert isinstance(info.value, httpx.HTTPStatusError)
        assert info.value.response.status_code == 401
        # GET /capabilities never needs auth.
        assert (await anonymous.get_capabilities()).num_workers == 1
    async with ComputeClient(
        server_config=config(stack), auth_provider=JWTAuthProvider(token="not.a.jwt")
    ) as forged:
        with pytest.raises(httpx.HTTPStatusError) as status:
            await forged.get_job("anything")
        assert status.value.response.status_code == 401


async def test_permission_decides_403(
    stack: Stack, admin_session: SessionManager, media: Media
) -> None:
    await make_user(admin_session, "noperm", [])
    await make_user(admin_session, "worker_user", ["ai_inference_support"])
    async with SessionManager(server_config=config(stack)) as session:
        await session.login("noperm", "pw-noperm")
        async with session.create_compute_client() as client:
            with pytest.raises(PermissionError) as info:
                await client.hash.compute(media.photo)
            assert info.value.response.status_code == 403  # type: ignore[attr-defined]
            with pytest.raises(PermissionError):
                await client.update_guest_mode(True)
    async with SessionManager(server_config=config(stack)) as session:
        await session.login("worker_user", "pw-worker_user")
        async with session.create_compute_client() as client:
            job = await client.hash.compute(media.photo, wait=True, timeout=30)
            assert job.status == "completed"
            with pytest.raises(PermissionError):
                await client.update_guest_mode(True)  # admin only


async def test_user_crud_through_auth_client(stack: Stack) -> None:
    async with AuthClient(stack.auth_url) as auth:
        token = (await auth.login(stack.admin_username, stack.admin_password)).access_token
        created = await auth.create_user(
            token, UserCreateRequest(username="crud", password="pw1", permissions=["read:jobs"])
        )
        assert created.permissions == ["read:jobs"] and not created.is_admin
        assert "crud" in [u.username for u in await auth.list_users(token)]
        assert (await auth.get_user(token, created.id)).username == "crud"
        updated = await auth.update_user(
            token,
            created.id,
            UserUpdateRequest(permissions=["write:jobs", "admin"], is_active=True, password="pw2"),
        )
        assert updated.permissions == ["write:jobs", "admin"]
        user_token = (await auth.login("crud", "pw2")).access_token
        assert (await auth.get_current_user(user_token)).username == "crud"
        with pytest.raises(PermissionError):
            await auth.list_users(user_token)
        with pytest.raises(AuthenticationError):
            await auth.login("crud", "pw1")
        assert (await auth.get_public_key()).algorithm == "ES256"
        await auth.delete_user(token, created.id)
        with pytest.raises(NotFoundError):
            await auth.get_user(token, created.id)


async def test_admin_toggles_guest_mode(
    stack: Stack, admin_session: SessionManager, media: Media
) -> None:
    async with admin_session.create_compute_client() as admin_client:
        assert await admin_client.update_guest_mode(True) is True
        try:
            assert (await admin_client.get_admin_config()).guest_mode is True
            async with ComputeClient(server_config=config(stack)) as anonymous:
                job = await anonymous.hash.compute(media.photo, wait=True, timeout=30)
                assert job.status == "completed"
        finally:
            assert await admin_client.update_guest_mode(False) is True
        async with ComputeClient(server_config=config(stack)) as anonymous:
            with pytest.raises(AuthenticationError):
                await anonymous.get_job("x")
