"""Auth providers (PROTOCOL.md §7.6): where a client gets its ``Authorization`` header from.

The compute client asks its provider for headers on *every* request (see
:class:`ProviderAuth`), so a token refreshed by a :class:`~cl_client.session_manager.SessionManager`
is picked up without rebuilding the client.
"""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from datetime import UTC, datetime, timedelta

import httpx

#: Tokens with less than this much lifetime left are refreshed before use.
REFRESH_MARGIN = timedelta(seconds=60)


class AuthProvider(ABC):
    """Supplies the auth headers for a request."""

    @abstractmethod
    def get_headers(self) -> dict[str, str]:
        """Headers to add to the next request."""

    async def refresh_token_if_needed(self) -> None:  # noqa: B027 - optional hook, no-op default
        """Called before each request; providers with expiring credentials refresh here."""


class NoAuthProvider(AuthProvider):
    """No credentials (auth disabled or guest mode)."""

    def get_headers(self) -> dict[str, str]:
        return {}


class JWTAuthProvider(AuthProvider):
    """Bearer-token auth with a static token or a getter for the current one."""

    def __init__(
        self,
        token: str | None = None,
        get_cached_token: Callable[[], str] | None = None,
        get_valid_token_async: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        if token is None and get_cached_token is None:
            raise ValueError("JWTAuthProvider needs a token or a get_cached_token callable")
        self._token: str | None = token
        self._get_cached_token: Callable[[], str] | None = get_cached_token
        self._get_valid_token_async: Callable[[], Awaitable[str]] | None = get_valid_token_async

    def get_token(self) -> str:
        """The static token, else the current one from the getter."""
        if self._token is not None:
            return self._token
        if self._get_cached_token is not None:
            return self._get_cached_token()
        raise ValueError("No token available")  # pragma: no cover - excluded by __init__

    def get_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.get_token()}"}

    def _parse_token_expiry(self, token: str) -> datetime | None:
        return parse_token_expiry(token)

    def should_refresh(self, token: str) -> bool:
        """True when fewer than 60 s of the token's lifetime remain (False if unknown)."""
        return token_needs_refresh(token)

    async def refresh_token_if_needed(self) -> None:
        """Let the session refresh a token that is about to expire."""
        if self._get_valid_token_async is not None:
            await self._get_valid_token_async()


def get_default_auth() -> AuthProvider:
    """The provider used when none is given: no credentials."""
    return NoAuthProvider()


def parse_token_expiry(token: str) -> datetime | None:
    """Expiry (UTC) from the *unverified* JWT payload's ``exp``; None on any parse problem.

    The client never verifies signatures (the server does); it only needs to know when to refresh.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    segment = parts[1]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        payload: object = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    exp: object = payload.get("exp")  # pyright: ignore[reportUnknownMemberType]
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def token_needs_refresh(token: str, *, now: datetime | None = None) -> bool:
    """True when the token expires within :data:`REFRESH_MARGIN`; False when expiry is unknown."""
    expiry = parse_token_expiry(token)
    if expiry is None:
        return False
    current = now if now is not None else datetime.now(UTC)
    return expiry - current < REFRESH_MARGIN


class ProviderAuth(httpx.Auth):
    """httpx auth flow that asks an :class:`AuthProvider` for fresh headers on each request.

    ``provider`` is a getter so that replacing ``ComputeClient.auth`` takes effect at once.
    """

    def __init__(self, provider: Callable[[], AuthProvider]) -> None:
        self._provider: Callable[[], AuthProvider] = provider

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._provider().get_headers())
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        provider = self._provider()
        await provider.refresh_token_if_needed()
        request.headers.update(provider.get_headers())
        yield request
