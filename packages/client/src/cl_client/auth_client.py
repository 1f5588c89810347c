"""Client of the auth service (PROTOCOL.md §2, §7.7)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from cl_client.auth_models import (
    PublicKeyResponse,
    TokenResponse,
    UserCreateRequest,
    UserResponse,
    UserUpdateRequest,
)
from cl_client.exceptions import ServerUnreachableError, raise_for_status
from cl_client.lifecycle import AsyncCloseable
from cl_client.server_config import ServerConfig


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class AuthClient(AsyncCloseable):
    """Login, token refresh, public key and user administration. Bodies are form-encoded."""

    def __init__(
        self,
        base_url: str | None = None,
        server_config: ServerConfig | None = None,
        timeout: float = 60.0,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = server_config if server_config is not None else ServerConfig.from_env()
        self.base_url: str = (base_url or config.auth_url).rstrip("/")
        self.timeout: float = timeout
        self._session: httpx.AsyncClient = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport
        )

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._session.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            raise ServerUnreachableError.from_connect_error(self.base_url, exc) from exc
        raise_for_status(response)
        return response

    async def login(self, username: str, password: str) -> TokenResponse:
        """``POST /auth/token`` with the OAuth2 password form."""
        response = await self._request(
            "POST", "/auth/token", data={"username": username, "password": password}
        )
        return TokenResponse.model_validate(response.json())

    async def refresh_token(self, token: str) -> TokenResponse:
        """``POST /auth/token/refresh``: a new token with claims re-read from the user record."""
        response = await self._request("POST", "/auth/token/refresh", headers=_bearer(token))
        return TokenResponse.model_validate(response.json())

    async def get_public_key(self) -> PublicKeyResponse:
        response = await self._request("GET", "/auth/public-key")
        return PublicKeyResponse.model_validate(response.json())

    async def get_current_user(self, token: str) -> UserResponse:
        response = await self._request("GET", "/users/me", headers=_bearer(token))
        return UserResponse.model_validate(response.json())

    async def create_user(self, token: str, user_create: UserCreateRequest) -> UserResponse:
        response = await self._request(
            "POST", "/users/", data=user_create.to_api_payload(), headers=_bearer(token)
        )
        return UserResponse.model_validate(response.json())

    async def list_users(self, token: str, skip: int = 0, limit: int = 100) -> list[UserResponse]:
        response = await self._request(
            "GET", "/users/", params={"skip": skip, "limit": limit}, headers=_bearer(token)
        )
        body: object = response.json()
        if not isinstance(body, list):
            raise ValueError("GET /users/ did not return a list")
        return [UserResponse.model_validate(item) for item in body]  # pyright: ignore[reportUnknownVariableType]

    async def get_user(self, token: str, user_id: int) -> UserResponse:
        response = await self._request("GET", _user_url(user_id), headers=_bearer(token))
        return UserResponse.model_validate(response.json())

    async def get_user_by_name(self, token: str, username: str) -> UserResponse | None:
        """The user called ``username`` (pages through ``GET /users/``), or None."""
        skip = 0
        page = 100
        while True:
            users = await self.list_users(token, skip=skip, limit=page)
            for user in users:
                if user.username == username:
                    return user
            if len(users) < page:
                return None
            skip += page

    async def update_user(
        self, token: str, user_id: int, user_update: UserUpdateRequest
    ) -> UserResponse:
        response = await self._request(
            "PUT", _user_url(user_id), data=user_update.to_api_payload(), headers=_bearer(token)
        )
        return UserResponse.model_validate(response.json())

    async def delete_user(self, token: str, user_id: int) -> None:
        await self._request("DELETE", _user_url(user_id), headers=_bearer(token))

    async def close(self) -> None:
        await self._session.aclose()


def _user_url(user_id: int) -> str:
    return f"/users/{quote(str(user_id), safe='')}"
