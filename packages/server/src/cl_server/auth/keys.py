"""The ES256 signing key pair, kept as PEM files under ``<data_dir>/keys``.

Files: ``private_key.pem`` (PKCS#8, mode 0600) and ``public_key.pem`` (SubjectPublicKeyInfo).
The directory is made owner-only (0700). On start:

- both files present and matching: reused, so tokens issued before a restart still verify;
- private key present and usable, public key missing: the public key is derived and written;
- private key missing, unreadable, not P-256, or not matching the public key: a new pair is made
  (tokens signed with the old key stop verifying; the event is logged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cl_server.private_files import ensure_private_dir, write_private_file

logger = logging.getLogger(__name__)

PRIVATE_KEY_FILE = "private_key.pem"
PUBLIC_KEY_FILE = "public_key.pem"
ALGORITHM = "ES256"


@dataclass(frozen=True)
class KeyPair:
    private_key: ec.EllipticCurvePrivateKey
    public_key_pem: str
    """SubjectPublicKeyInfo PEM, as served by ``GET /auth/public-key``."""

    @cached_property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """Parsed once: verifying every request's token against the PEM would re-parse it."""
        return self.private_key.public_key()


def public_pem_of(private_key: ec.EllipticCurvePrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _private_pem(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_private(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        logger.warning("Ignoring unreadable private key %s (%s); making a new key pair", path, exc)
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        logger.warning("Private key %s is not a P-256 key; making a new key pair", path)
        return None
    return key


def _same_public_key(pem_on_disk: bytes, expected_pem: str) -> bool:
    try:
        loaded = serialization.load_pem_public_key(pem_on_disk)
    except (ValueError, TypeError):
        return False
    actual = loaded.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return actual.decode("ascii") == expected_pem


def load_or_create_keys(keys_dir: Path) -> KeyPair:
    """Return the persisted key pair, creating or repairing the files as described above."""
    ensure_private_dir(keys_dir)
    private_path = keys_dir / PRIVATE_KEY_FILE
    public_path = keys_dir / PUBLIC_KEY_FILE

    private_key = _load_private(private_path)
    if private_key is not None:
        public_pem = public_pem_of(private_key)
        try:
            on_disk = public_path.read_bytes()
        except FileNotFoundError:
            write_private_file(public_path, public_pem.encode("ascii"), 0o644)
            logger.info("Wrote missing public key %s", public_path)
            on_disk = None
        if on_disk is None or _same_public_key(on_disk, public_pem):
            # Tighten a key file that was copied in with loose permissions.
            private_path.chmod(0o600)
            return KeyPair(private_key=private_key, public_key_pem=public_pem)
        logger.warning("Public key %s does not match the private key; new pair", public_path)

    private_key = ec.generate_private_key(ec.SECP256R1())
    public_pem = public_pem_of(private_key)
    write_private_file(private_path, _private_pem(private_key), 0o600)
    write_private_file(public_path, public_pem.encode("ascii"), 0o644)
    logger.info("Generated a new ES256 key pair in %s", keys_dir)
    return KeyPair(private_key=private_key, public_key_pem=public_pem)
