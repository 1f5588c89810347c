"""Login state for one user, and compute clients that always send its current token (§7.8)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from cl_client.auth import AuthProvider, JWTAuthProvider, NoAuthProvider, token_needs_refresh
from cl_client.auth_client import AuthClient
from cl_client.auth_models import TokenResponse, UserResponse
from cl_client.lifecycle import AsyncCloseable
from cl_client.server_config import ServerConfig

if TYPE_CHECKING:
    import httpx

    from cl_client.compute_client import ComputeClient
    from cl_client.mqtt_monitor import MQTTJobMonitor


class SessionManager(AsyncCloseable):
    """Holds a token, refreshes it before it expires and builds authenticated clients."""

    def __init__(
        self,
        base_url: str | None = None,
        server_config: ServerConfig | None = None,
        *,
        auth_client: AuthClient | None = None,
    ) -> None:
        self._config: ServerConfig = (
            server_config if server_config is not None else ServerConfig.from_env()
        )
        if base_url is not None:
            self._config = replace(self._config, auth_url=base_url.rstrip("/"))
        self._auth_client: AuthClient = (
            auth_client
            if auth_client is not None
            else AuthClient(base_url=self._config.auth_url, server_config=self._config)
        )
        self._token: str | None = None
        self._user: UserResponse | None = None
        # One refresh at a time: concurrent requests near expiry share a single refresh.
        self._refresh_lock: asyncio.Lock | None = None

    @property
    def auth_client(self) -> AuthClient:
        return self._auth_client

    @property
    def server_config(self) -> ServerConfig:
        return self._config

    async def login(self, username: str, password: str) -> TokenResponse:
        """Log in, keep the token and cache ``/users/me``."""
        token = await self._auth_client.login(username, password)
        user = await self._auth_client.get_current_user(token.access_token)
        self._token = token.access_token
        self._user = user
        return token

    async def logout(self) -> None:
        """Forget the token and user (tokens are stateless; nothing is sent)."""
        self._token = None
        self._user = None

    def is_authenticated(self) -> bool:
        return self._token is not None

    async def get_current_user(self) -> UserResponse | None:
        return self._user

    def get_token(self) -> str:
        if self._token is None:
            raise ValueError("Not logged in: call login() first")
        return self._token

    async def get_valid_token(self) -> str:
        """The current token, refreshed first when fewer than 60 s of it remain."""
        token = self.get_token()
        if not token_needs_refresh(token):
            return token
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            token = self.get_token()
            if token_needs_refresh(token):  # another caller may have refreshed meanwhile
                refreshed = await self._auth_client.refresh_token(token)
                self._token = refreshed.access_token
            return self.get_token()

    def auth_provider(self) -> AuthProvider:
        """A provider bound to this session (current token per request), or no-auth."""
        if self._token is None:
            return NoAuthProvider()
        return JWTAuthProvider(
            get_cached_token=self.get_token, get_valid_token_async=self.get_valid_token
        )

    def create_compute_client(
        self,
        *,
        timeout: float | None = None,
        mqtt_monitor: MQTTJobMonitor | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> ComputeClient:
        """A :class:`ComputeClient` for this session's compute URL and MQTT broker.

        Its requests carry this session's *current* token (looked up per request and refreshed
        when fewer than 60 s remain), so it keeps working across token refreshes.
        """
        from cl_client.compute_client import ComputeClient

        return ComputeClient(
            base_url=self._config.compute_url,
            timeout=timeout,
            mqtt_broker=self._config.mqtt_broker,
            mqtt_port=self._config.mqtt_port,
            auth_provider=self.auth_provider(),
            server_config=self._config,
            mqtt_monitor=mqtt_monitor,
            transport=transport,
        )

    async def close(self) -> None:
        await self._auth_client.close()
