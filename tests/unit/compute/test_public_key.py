"""``PublicKeySource.refresh`` is throttled, and a rotated key is still picked up."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cl_server.compute.access import verify_token
from cl_server.compute.errors import NotAuthenticatedError
from cl_server.compute.public_key import MIN_REFRESH_INTERVAL_S, PublicKeySource


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingFile:
    """The shared PEM file; counts how often the source reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reads = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = Path.read_text

        def read_text(path: Path, *args: object, **kwargs: object) -> str:
            if path == self.path:
                self.reads += 1
            return original(path)

        monkeypatch.setattr(Path, "read_text", read_text)


def _pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def _token(private: bytes) -> str:
    claims = {"id": "7", "is_admin": True, "exp": int(time.time()) + 60}
    return jwt.encode(claims, private, algorithm="ES256")


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Clock, CountingFile]:
    path = tmp_path / "public.pem"
    counter = CountingFile(path)
    counter.install(monkeypatch)
    return path, Clock(), counter


def test_bad_signature_flood_reads_the_key_once_per_interval(
    setup: tuple[Path, Clock, CountingFile],
) -> None:
    path, clock, counter = setup
    private, public = _pair()
    path.write_bytes(public)
    source = PublicKeySource(key_path=path, auth_url="http://127.0.0.1:9", clock=clock)
    assert verify_token(_token(private), source).user_id == "7"
    assert counter.reads == 1

    forged = _token(_pair()[0])
    for _ in range(100):
        with pytest.raises(NotAuthenticatedError, match="Could not validate credentials"):
            verify_token(forged, source)
    assert counter.reads == 1  # the key was loaded under 30 s ago

    clock.now += MIN_REFRESH_INTERVAL_S
    for _ in range(100):
        with pytest.raises(NotAuthenticatedError):
            verify_token(forged, source)
    assert counter.reads == 2  # one refetch for the whole flood
    assert verify_token(_token(private), source).user_id == "7"


def test_rotated_key_is_picked_up_after_the_interval(
    setup: tuple[Path, Clock, CountingFile],
) -> None:
    path, clock, _ = setup
    old_private, old_public = _pair()
    path.write_bytes(old_public)
    source = PublicKeySource(key_path=path, auth_url="http://127.0.0.1:9", clock=clock)
    assert verify_token(_token(old_private), source).user_id == "7"

    new_private, new_public = _pair()
    path.write_bytes(new_public)  # the auth service rotated its key pair
    clock.now += MIN_REFRESH_INTERVAL_S - 1
    with pytest.raises(NotAuthenticatedError):
        verify_token(_token(new_private), source)
    clock.now += 1
    # The first bad signature once 30 s have passed reloads the key, and the token passes.
    assert verify_token(_token(new_private), source).user_id == "7"
    with pytest.raises(NotAuthenticatedError):
        verify_token(_token(old_private), source)


def test_failed_refresh_keeps_the_cached_key_and_counts_as_an_attempt(
    setup: tuple[Path, Clock, CountingFile],
) -> None:
    path, clock, counter = setup
    private, public = _pair()
    path.write_bytes(public)
    source = PublicKeySource(key_path=path, auth_url="http://127.0.0.1:9", clock=clock)
    assert verify_token(_token(private), source).user_id == "7"
    path.write_text("not a pem")
    clock.now += MIN_REFRESH_INTERVAL_S
    assert source.refresh() is None
    assert source.refresh() is None
    assert counter.reads == 2  # the second call was throttled
    assert verify_token(_token(private), source).user_id == "7"
