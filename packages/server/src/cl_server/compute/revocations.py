"""Token revocation, compute's side: a local copy of the auth service's revocation list.

The auth service publishes which tokens are revoked at ``GET /auth/revocations``
(``cl_server.auth.revocations``): per user the lowest ``token_version`` still valid, and the ids
of deleted users. ``RevocationCache`` fetches it when the service starts and then every
``CL_REVOCATION_REFRESH_SECONDS`` (default 1 s) in a background task, sending the last ``ETag``
so an unchanged list costs an empty 304. Checking a token is a dictionary lookup: no request
reaches the auth service per API call, and MQTT plays no part, so a broker outage changes
nothing. A revocation therefore takes effect within one interval plus one fetch (well under
the 5 s the project promises).

When a fetch fails (auth down, timeout, a bad answer) the last good list stays in force and the
fetch is retried at the next interval. A run of failures is logged once as a warning, and the
recovery as info, not every attempt. Before the first successful fetch nothing is revoked
(tokens are checked by signature and expiry only, as without this module), so an unreachable
auth service never locks everybody out; since ``cl-server up`` starts auth and compute side by
side, failures before the first list are only info until they last ``warn_after`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Final

import httpx
from pydantic import ValidationError

from cl_server.auth.revocations import REVOCATIONS_PATH, RevocationList

logger = logging.getLogger(__name__)

DEFAULT_REFRESH_SECONDS: Final = 1.0
FETCH_TIMEOUT_S: Final = 2.0
"""Upper bound on one fetch (connect + answer); a hung auth service delays nothing else."""
STARTUP_WARN_AFTER_S: Final = 15.0
"""Failing this long without ever having had a list is worth a warning (a wrong URL, an auth
service without the endpoint); before that, auth is probably still starting."""


class RevocationFetchError(Exception):
    """One fetch of the list failed; the message says why (for the log)."""


@dataclass(frozen=True)
class _Snapshot:
    """One fetched list, in lookup form. Replaced whole, so readers on other threads never
    see half an update."""

    min_versions: dict[str, int] = field(default_factory=dict[str, int])
    deleted: frozenset[str] = frozenset()
    etag: str | None = None
    fetched_at: float | None = None
    """``time.monotonic()`` of the fetch that produced or confirmed it; ``None``: never."""


class RevocationCache:
    """``is_revoked`` answers from memory; ``start()``/``stop()`` run the polling task."""

    def __init__(
        self,
        auth_url: str,
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        timeout: float = FETCH_TIMEOUT_S,
        warn_after: float = STARTUP_WARN_AFTER_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url: str = f"{auth_url.rstrip('/')}{REVOCATIONS_PATH}"
        self.refresh_seconds: float = refresh_seconds
        self._timeout = timeout
        self._warn_after = warn_after
        self._transport = transport
        self._snapshot = _Snapshot()
        self._failing_since: float | None = None
        self._warned = False
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    # --- checks (any thread) -------------------------------------------------------------

    def is_revoked(self, user_id: str, token_version: int) -> bool:
        """Whether a token of ``user_id`` issued at ``token_version`` is revoked."""
        snapshot = self._snapshot
        return user_id in snapshot.deleted or token_version < snapshot.min_versions.get(user_id, 0)

    @property
    def failing(self) -> bool:
        """Whether the latest fetch failed (the list in force is then older than usual)."""
        return self._failing_since is not None

    @property
    def age(self) -> float | None:
        """Seconds since the list was last fetched or confirmed; ``None`` if it never was."""
        fetched_at = self._snapshot.fetched_at
        return None if fetched_at is None else time.monotonic() - fetched_at

    def apply(self, revocations: RevocationList, etag: str | None = None) -> None:
        """Make ``revocations`` the list in force (the newest answer wins)."""
        self._snapshot = _Snapshot(
            min_versions=dict(revocations.token_versions),
            deleted=frozenset(revocations.deleted),
            etag=etag,
            fetched_at=time.monotonic(),
        )

    # --- fetching (the event loop) ---------------------------------------------------------

    async def fetch_once(self, client: httpx.AsyncClient) -> None:
        """One conditional GET; updates the list or raises ``RevocationFetchError``."""
        snapshot = self._snapshot
        headers = {"If-None-Match": snapshot.etag} if snapshot.etag else {}
        try:
            async with asyncio.timeout(self._timeout):
                response = await client.get(self.url, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as exc:
            raise RevocationFetchError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 304 and snapshot.etag is not None:
            self._snapshot = replace(snapshot, fetched_at=time.monotonic())
            return
        if response.status_code != 200:
            raise RevocationFetchError(f"HTTP {response.status_code}")
        try:
            revocations = RevocationList.model_validate_json(response.content)
        except ValidationError as exc:
            raise RevocationFetchError(
                f"unreadable answer ({exc.error_count()} problem(s))"
            ) from exc
        self.apply(revocations, response.headers.get("ETag"))

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        """``fetch_once``, logging failures and the recovery (see the module); never raises."""
        try:
            await self.fetch_once(client)
        except RevocationFetchError as exc:
            self._log_failure(exc)
            return False
        if self._failing_since is not None:
            self._failing_since = None
            level = logging.INFO if self._warned else logging.DEBUG
            logger.log(level, "token revocation list fetched from %s again", self.url)
            self._warned = False
        return True

    def _log_failure(self, exc: RevocationFetchError) -> None:
        now = time.monotonic()
        first = self._failing_since is None
        if self._failing_since is None:
            self._failing_since = now
        age = self.age
        if not self._warned and (age is not None or now - self._failing_since >= self._warn_after):
            self._warned = True
            kept = (
                "revoking nothing until it answers"
                if age is None
                else f"keeping the list from {age:.0f} s ago"
            )
            logger.warning(
                "cannot fetch the token revocation list from %s (%s); retrying every %g s, %s",
                self.url,
                exc,
                self.refresh_seconds,
                kept,
            )
        elif first:
            logger.info(
                "token revocation list not available yet from %s (%s); retrying every %g s",
                self.url,
                exc,
                self.refresh_seconds,
            )
        else:
            logger.debug("revocation list fetch failed again: %s", exc)

    async def start(self) -> None:
        """Fetch once (bounded by the timeout), then keep refreshing in a background task."""
        if self._task is not None:
            return
        self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        await self.refresh(self._client)
        self._task = asyncio.create_task(self._poll(self._client), name="revocation-refresh")

    async def stop(self) -> None:
        task, client = self._task, self._client
        self._task = self._client = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if client is not None:
            await client.aclose()

    async def _poll(self, client: httpx.AsyncClient) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh(client)
            except Exception:  # a bug must not end revocation for the rest of the run
                logger.exception("token revocation refresh failed")
