"""Key pair persistence (PROTOCOL.md §2.4: PKCS#8 / SPKI PEM, owner-only, reused, repaired)."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cl_server.auth.keys import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    load_or_create_keys,
    public_pem_of,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_writes_pkcs8_and_spki_files_owner_only(tmp_path: Path) -> None:
    keys_dir = tmp_path / "data" / "keys"
    pair = load_or_create_keys(keys_dir)
    private_pem = (keys_dir / PRIVATE_KEY_FILE).read_bytes()
    public_pem = (keys_dir / PUBLIC_KEY_FILE).read_text()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    assert public_pem == pair.public_key_pem == public_pem_of(pair.private_key)
    loaded = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert isinstance(loaded.curve, ec.SECP256R1)
    assert _mode(keys_dir) == 0o700
    assert _mode(keys_dir / PRIVATE_KEY_FILE) == 0o600
    assert not list(keys_dir.glob(".*tmp"))


def test_second_start_reuses_the_pair_and_tightens_modes(tmp_path: Path) -> None:
    first = load_or_create_keys(tmp_path)
    (tmp_path / PRIVATE_KEY_FILE).chmod(0o644)
    tmp_path.chmod(0o755)
    second = load_or_create_keys(tmp_path)
    assert second.public_key_pem == first.public_key_pem
    assert _mode(tmp_path / PRIVATE_KEY_FILE) == 0o600
    assert _mode(tmp_path) == 0o700


def test_missing_public_key_is_derived_from_the_private_key(tmp_path: Path) -> None:
    first = load_or_create_keys(tmp_path)
    (tmp_path / PUBLIC_KEY_FILE).unlink()
    second = load_or_create_keys(tmp_path)
    assert second.public_key_pem == first.public_key_pem
    assert (tmp_path / PUBLIC_KEY_FILE).read_text() == first.public_key_pem


def test_mismatched_pair_is_replaced(tmp_path: Path) -> None:
    first = load_or_create_keys(tmp_path / "a")
    other = load_or_create_keys(tmp_path / "b")
    (tmp_path / "a" / PUBLIC_KEY_FILE).write_text(other.public_key_pem)
    repaired = load_or_create_keys(tmp_path / "a")
    assert repaired.public_key_pem not in (first.public_key_pem, other.public_key_pem)
    assert (tmp_path / "a" / PUBLIC_KEY_FILE).read_text() == repaired.public_key_pem
    assert public_pem_of(repaired.private_key) == repaired.public_key_pem


def test_missing_unreadable_or_wrong_kind_private_key_is_replaced(tmp_path: Path) -> None:
    original = load_or_create_keys(tmp_path).public_key_pem

    (tmp_path / PRIVATE_KEY_FILE).unlink()
    after_missing = load_or_create_keys(tmp_path).public_key_pem
    assert after_missing != original

    (tmp_path / PRIVATE_KEY_FILE).write_text("not a key")
    after_garbage = load_or_create_keys(tmp_path).public_key_pem
    assert after_garbage != after_missing

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / PRIVATE_KEY_FILE).write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    after_rsa = load_or_create_keys(tmp_path)
    assert isinstance(after_rsa.private_key.curve, ec.SECP256R1)
    assert after_rsa.public_key_pem != after_garbage
