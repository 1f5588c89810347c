"""Where the compute service gets the auth service's ES256 public key (ARCHITECTURE: Auth)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

logger = logging.getLogger(__name__)


class PublicKeyUnavailableError(Exception):
    pass


class PublicKeySource:
    """Reads the key from a shared PEM file, else fetches ``<auth_url>/auth/public-key``.

    The key is parsed once and cached (PyJWT would otherwise parse the PEM on every request);
    ``refresh()`` re-reads it after a signature failure, since the auth service may have generated
    a new key pair.
    """

    def __init__(self, *, key_path: Path | None, auth_url: str, timeout: float = 5.0) -> None:
        self._key_path = key_path
        self._auth_url = auth_url.rstrip("/")
        self._timeout = timeout
        self._cached: EllipticCurvePublicKey | None = None
        self._lock = threading.Lock()

    def get(self) -> EllipticCurvePublicKey:
        with self._lock:
            if self._cached is None:
                self._cached = self._load()
            return self._cached

    def refresh(self) -> EllipticCurvePublicKey | None:
        """Reload; returns the new key only if it differs from the cached one."""
        with self._lock:
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
