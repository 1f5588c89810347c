"""Where the compute service gets the auth service's ES256 public key (ARCHITECTURE: Auth)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)


class PublicKeyUnavailableError(Exception):
    pass


class PublicKeySource:
    """Reads the key from a shared PEM file, else fetches ``<auth_url>/auth/public-key``.

    The key is cached; ``refresh()`` re-reads it after a signature failure, since the auth service
    may have generated a new key pair.
    """

    def __init__(self, *, key_path: Path | None, auth_url: str, timeout: float = 5.0) -> None:
        self._key_path = key_path
        self._auth_url = auth_url.rstrip("/")
        self._timeout = timeout
        self._cached: str | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._cached is None:
                self._cached = self._load()
            return self._cached

    def refresh(self) -> str | None:
        """Reload; returns the new key only if it differs from the cached one."""
        with self._lock:
            old = self._cached
            try:
                self._cached = self._load()
            except PublicKeyUnavailableError:
                return None
            return self._cached if self._cached != old else None

    def _load(self) -> str:
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
