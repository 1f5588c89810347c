from __future__ import annotations

import pytest

from cl_server.auth.errors import PasswordTooLongError
from cl_server.auth.passwords import PasswordHasher

HASHER = PasswordHasher(rounds=4)


def test_hash_is_bcrypt_with_the_given_cost_and_verifies() -> None:
    hashed = HASHER.hash("s3cret")
    assert hashed.startswith("$2b$04$")
    assert "s3cret" not in hashed
    assert HASHER.verify("s3cret", hashed)
    assert not HASHER.verify("s3cret ", hashed)
    assert HASHER.hash("s3cret") != hashed  # salted


def test_default_cost_is_12() -> None:
    assert PasswordHasher().rounds == 12


def test_passwords_over_72_bytes_are_refused_not_truncated() -> None:
    at_limit = "a" * 72
    assert HASHER.verify(at_limit, HASHER.hash(at_limit))
    with pytest.raises(PasswordTooLongError, match="72 bytes"):
        HASHER.hash(at_limit + "b")
    # bcrypt would compare only the first 72 bytes; we say no instead.
    assert not HASHER.verify(at_limit + "b", HASHER.hash(at_limit))


def test_verify_without_a_hash_or_with_garbage_is_false() -> None:
    assert not HASHER.verify("anything", None)
    assert not HASHER.verify("anything", "not-a-bcrypt-hash")
