"""Where the compute service gets the auth service's ES256 public key (ARCHITECTURE: Auth), and
the revocation list that goes with it (``cl_server.compute.revocations``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

if TYPE_CHECKING:
    from cl_server.compute.revocations import RevocationCache

logger = logging.getLogger(__name__)

MIN_REFRESH_INTERVAL_S = 30.0
"""``refresh()`` reloads the key at most this often, however many bad signatures arrive."""


class PublicKeyUnavailableError(Exception):
    pass


class PublicKeySource:
    """Reads the key from a shared PEM file, else fetches ``<auth_url>/auth/public-key``.

    The key is parsed once and cached (PyJWT would otherwise parse the PEM on every request);
    ``refresh()`` re-reads it after a signature failure, since the auth service may have generated
    a new key pair. Reloads are throttled to one per ``min_refresh_interval`` seconds (counted
    from the last load or attempt), so a flood of badly signed tokens costs the auth service at
    most one request per interval, and a rotated key is picked up by the first bad signature
    once the interval has passed.

    ``revocations``, when given, is what the auth service revoked since: ``verify_token``
    consults it after the signature, so everything needed to trust a token comes from here.
    """

    def __init__(
        self,
        *,
        key_path: Path | None,
        auth_url: str,
        timeout: float = 5.0,
        min_refresh_interval: float = MIN_REFRESH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        revocations: RevocationCache | None = None,
    ) -> None:
        self.revocations: RevocationCache | None = revocations
        self._key_path = key_path
        self._auth_url = auth_url.rstrip("/")
        self._timeout = timeout
        self._min_refresh_interval = min_refresh_interval
        self._clock = clock
        self._cached: EllipticCurvePublicKey | None = None
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def get(self) -> EllipticCurvePublicKey:
        with self._lock:
            if self._cached is None:
                self._loaded_at = self._clock()
                self._cached = self._load()
            return self._cached

    def refresh(self) -> EllipticCurvePublicKey | None:
        """Reload unless the last load was under ``min_refresh_interval`` ago; returns the new
        key only if it was reloaded and differs from the cached one."""
        with self._lock:
            now = self._clock()
            if self._loaded_at is not None and now - self._loaded_at < self._min_refresh_interval:
                return None
            self._loaded_at = now  # a failed attempt counts too: auth being down is no excuse
            old = self._cached
            try:
                self._cached = self._load()
            except PublicKeyUnavailableError:
                return None
            fresh = self._cached
            unchanged = old is not None and old.public_numbers() == fresh.public_numbers()
            return None if unchanged else fresh

    def _load(self) -> EllipticCurvePublicKey:
        pem = self._load_pem()
        try:
            key = load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise PublicKeyUnavailableError(
                f"the auth public key is not a valid PEM: {exc}"
            ) from exc
        if not isinstance(key, EllipticCurvePublicKey):
            raise PublicKeyUnavailableError("the auth public key is not an EC (ES256) key")
        return key

    def _load_pem(self) -> str:
        if self._key_path is not None and self._key_path.is_file():
            return self._key_path.read_text()
        url = f"{self._auth_url}/auth/public-key"
        try:
            response = httpx.get(url, timeout=self._timeout)
            response.raise_for_status()
            key = response.json()["public_key"]
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise PublicKeyUnavailableError(
                f"cannot fetch the auth public key from {url}: {exc}"
            ) from exc
        if not isinstance(key, str):
            raise PublicKeyUnavailableError(f"{url} returned no public key")
        logger.info("loaded auth public key from %s", url)
        return key
