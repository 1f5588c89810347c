"""JWT issuing and verification (PROTOCOL.md §2.4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cl_server.auth.errors import InvalidClaimsError, InvalidTokenError
from cl_server.auth.keys import public_pem_of
from cl_server.auth.tokens import TokenClaims, decode_token, issue_token

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_PEM = public_pem_of(KEY)


def _token(lifetime: timedelta = timedelta(minutes=5)) -> str:
    return issue_token(
        user_id=7, permissions=["a", "b"], is_admin=False, private_key=KEY, lifetime=lifetime
    )


def _sign(payload: dict[str, object]) -> str:
    return jwt.encode(payload, KEY, algorithm="ES256")


def test_round_trip_has_the_protocol_claims_plus_iat_and_token_version() -> None:
    now = datetime(2026, 1, 24, 10, 30, 0, 500_000, tzinfo=UTC)
    token = issue_token(
        user_id=42,
        permissions=["read:jobs", "*"],
        is_admin=True,
        private_key=KEY,
        lifetime=timedelta(minutes=30),
        token_version=3,
        now=now,
    )
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT"}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload == {
        "id": "42",
        "permissions": ["read:jobs", "*"],
        "is_admin": True,
        "exp": int(now.timestamp()) + 1800,
        "iat": int(now.timestamp()),
        "token_version": 3,
    }


def test_decode_token_returns_claims() -> None:
    claims = decode_token(_token(), PUBLIC_PEM)
    assert claims == TokenClaims(id="7", permissions=["a", "b"], is_admin=False, exp=claims.exp)
    assert claims.user_id == 7
    # bytes PEM and key objects work as well
    assert decode_token(_token(), PUBLIC_PEM.encode()).user_id == 7
    assert decode_token(_token(), KEY.public_key()).user_id == 7


def test_expired_token_is_rejected() -> None:
    # exp is whole seconds rounded down, so a zero lifetime is already expired.
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_token(_token(lifetime=timedelta(0)), PUBLIC_PEM)


def test_token_signed_by_another_key_is_rejected() -> None:
    other = public_pem_of(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(InvalidTokenError):
        decode_token(_token(), other)


def test_tampered_payload_is_rejected() -> None:
    header, payload, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["is_admin"] = True
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidTokenError):
        decode_token(f"{header}.{forged}.{signature}", PUBLIC_PEM)


def test_algorithm_is_pinned() -> None:
    exp = int(datetime.now(UTC).timestamp()) + 300
    claims = {"id": "1", "permissions": [], "is_admin": True, "exp": exp}
    unsigned = jwt.encode(claims, "", algorithm="none")
    with pytest.raises(InvalidTokenError):
        decode_token(unsigned, PUBLIC_PEM)
    # HS256 keyed with the public key (the classic key-confusion attack).
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    mac = hmac.new(PUBLIC_PEM.encode(), header + b"." + body, hashlib.sha256).digest()
    confused = b".".join([header, body, base64.urlsafe_b64encode(mac).rstrip(b"=")]).decode()
    with pytest.raises(InvalidTokenError):
        decode_token(confused, PUBLIC_PEM)


@pytest.mark.parametrize(
    "payload",
    [
        {"permissions": [], "is_admin": False},  # no id
        {"id": "1", "is_admin": False},  # no permissions
        {"id": "1", "permissions": []},  # no is_admin
        {"id": 1, "permissions": [], "is_admin": False},  # id not a string
        {"id": "one", "permissions": [], "is_admin": False},
        {"id": "1", "permissions": "a,b", "is_admin": False},
        {"id": "1", "permissions": [], "is_admin": "yes"},
    ],
)
def test_malformed_claims_are_rejected(payload: dict[str, object]) -> None:
    exp = int(datetime.now(UTC).timestamp()) + 300
    with pytest.raises(InvalidTokenError):
        decode_token(_sign({**payload, "exp": exp}), PUBLIC_PEM)


def test_token_without_exp_is_rejected() -> None:
    with pytest.raises(InvalidTokenError):
        decode_token(_sign({"id": "1", "permissions": [], "is_admin": False}), PUBLIC_PEM)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_rejected(garbage: str) -> None:
    with pytest.raises(InvalidTokenError):
        decode_token(garbage, PUBLIC_PEM)


@pytest.mark.parametrize("exp", ["9999999999", 9999999999.0, True])
def test_wrongly_typed_exp_is_invalid_claims(exp: object) -> None:
    claims = {"id": "1", "permissions": [], "is_admin": False, "exp": exp}
    with pytest.raises(InvalidClaimsError):
        decode_token(_sign(claims), PUBLIC_PEM)


def test_token_version_round_trips_and_defaults_to_zero() -> None:
    token = issue_token(
        user_id=7,
        permissions=[],
        is_admin=False,
        private_key=KEY,
        lifetime=timedelta(minutes=5),
        token_version=4,
    )
    assert decode_token(token, PUBLIC_PEM).token_version == 4
    exp = int(datetime.now(UTC).timestamp()) + 300
    older = _sign({"id": "1", "permissions": [], "is_admin": False, "exp": exp})
    assert decode_token(older, PUBLIC_PEM).token_version == 0  # issued before versions existed


@pytest.mark.parametrize("version", [-1, "1", True, 1.5])
def test_wrongly_typed_token_version_is_invalid_claims(version: object) -> None:
    exp = int(datetime.now(UTC).timestamp()) + 300
    claims = {"id": "1", "permissions": [], "is_admin": False, "exp": exp, "token_version": version}
    with pytest.raises(InvalidClaimsError):
        decode_token(_sign(claims), PUBLIC_PEM)


def test_iat_tolerates_clock_skew_but_not_a_far_future() -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"id": "1", "permissions": [], "is_admin": False, "exp": now + 300}
    assert decode_token(_sign({**claims, "iat": now + 20}), PUBLIC_PEM).user_id == 1
    with pytest.raises(InvalidTokenError):
        decode_token(_sign({**claims, "iat": now + 600}), PUBLIC_PEM)
