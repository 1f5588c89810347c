from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cl_server.compute.access import ANONYMOUS, access_state, authorize, bearer_token
from cl_server.compute.errors import ForbiddenError, NotAuthenticatedError
from cl_server.compute.public_key import PublicKeySource


def _key_pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture
def keys(tmp_path):  # type: ignore[no-untyped-def]
    private, public = _key_pair()
    path = tmp_path / "public.pem"
    path.write_bytes(public)
    source = PublicKeySource(key_path=path, auth_url="http://127.0.0.1:9")
    return private, source


def _token(private: bytes, **claims: object) -> str:
    base: dict[str, object] = {"id": "7", "exp": int(time.time()) + 60}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, private, algorithm="ES256")


def test_access_state_precedence() -> None:
    assert access_state(auth_disabled=True, guest_mode=False) == "auth_disabled"
    assert access_state(auth_disabled=False, guest_mode=True) == "guest"
    assert access_state(auth_disabled=False, guest_mode=False) == "enforced"


@pytest.mark.parametrize(
    ("header", "token"),
    [(None, None), ("", None), ("Basic abc", None), ("Bearer ", None), ("bearer abc", "abc")],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_open_states_never_decode(keys) -> None:  # type: ignore[no-untyped-def]
    _, source = keys
    for state in ("guest", "auth_disabled"):
        assert authorize(state, "Bearer garbage", source, admin=True) is ANONYMOUS


def test_enforced_rules(keys) -> None:  # type: ignore[no-untyped-def]
    private, source = keys
    with pytest.raises(NotAuthenticatedError, match="Authentication required"):
        authorize("enforced", None, source, admin=False)
    allowed = _token(private, permissions=["ai_inference_support"])
    caller = authorize("enforced", f"Bearer {allowed}", source, admin=False)
    assert caller.user_id == "7" and not caller.is_admin
    with pytest.raises(ForbiddenError, match="Admin access required"):
        authorize("enforced", f"Bearer {allowed}", source, admin=True)
    plain = _token(private, permissions=["read:jobs"])
    with pytest.raises(ForbiddenError, match="Required: ai_inference_support"):
        authorize("enforced", f"Bearer {plain}", source, admin=False)
    admin = _token(private, is_admin=True)
    assert authorize("enforced", f"Bearer {admin}", source, admin=True).is_admin


# Times are offsets from the moment the test runs (not from collection, which can be many
# minutes earlier in a full run); ``NOW`` marks a claim value to be shifted.
NOW = "now+"


def _at_run_time(claims: dict[str, object]) -> dict[str, object]:
    now = int(time.time())
    return {
        key: now + int(value[len(NOW) :])
        if isinstance(value, str) and value.startswith(NOW)
        else value
        for key, value in claims.items()
    }


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": f"{NOW}-10"}, "JWT token has expired"),
        ({"id": None}, "JWT payload is invalid"),
        ({"id": 7}, "JWT payload is invalid"),
        ({"is_admin": "yes"}, "JWT payload is invalid"),
        ({"permissions": "ai_inference_support"}, "JWT payload is invalid"),
        ({"exp": str(int(time.time()) + 3600)}, "JWT payload is invalid"),
        ({"exp": float(int(time.time()) + 3600)}, "JWT payload is invalid"),
        ({"exp": True}, "JWT payload is invalid"),
        ({"iat": "now"}, "JWT payload is invalid"),
        ({"nbf": f"{NOW}600"}, "Could not validate credentials"),
    ],
)
def test_bad_claims(keys, claims: dict[str, object], message: str) -> None:  # type: ignore[no-untyped-def]
    private, source = keys
    token = _token(private, **_at_run_time(claims))
    with pytest.raises(NotAuthenticatedError, match=message):
        authorize("enforced", f"Bearer {token}", source, admin=False)


def test_wrong_key_and_algorithm(keys) -> None:  # type: ignore[no-untyped-def]
    _, source = keys
    other_private, _ = _key_pair()
    with pytest.raises(NotAuthenticatedError, match="Could not validate credentials"):
        authorize("enforced", f"Bearer {_token(other_private)}", source, admin=False)
    hs256 = jwt.encode({"id": "1", "exp": int(time.time()) + 60}, "secret" * 6, algorithm="HS256")
    with pytest.raises(NotAuthenticatedError, match="Could not validate credentials"):
        authorize("enforced", f"Bearer {hs256}", source, admin=False)
