"""ES256 JWTs with the claims of PROTOCOL.md §2.4 (``id``, ``permissions``, ``is_admin``, ``exp``)
plus two additive ones: ``iat`` (issue time, whole seconds) and ``token_version`` (the user's
version at issue time, see ``cl_server.auth.revocations``). Clients rely on neither; a token
without ``token_version`` counts as version 0.

``decode_token`` is usable by any process that holds the public key PEM; it pins the algorithm
so a token cannot choose how it is verified (no ``none``, no HS256 keyed with the public key).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from cl_server.auth.errors import InvalidClaimsError, InvalidTokenError
from cl_server.auth.keys import ALGORITHM

TOKEN_VERSION_CLAIM = "token_version"
"""The user's ``token_version`` when the token was issued (absent means 0)."""
REQUIRED_CLAIMS = ("id", "permissions", "is_admin", "exp")
CLOCK_LEEWAY_S = 60.0
"""How far in the future ``iat``/``nbf`` may be (clocks of separate hosts drift)."""
INVALID_PAYLOAD = "JWT payload is invalid"
"""The 401 message for a token whose claims are missing or wrongly typed (both services)."""


class TokenClaims(BaseModel):
    """Verified claims of a token. ``id`` is the decimal string of the user id."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: StrictStr = Field(pattern=r"^[0-9]+$")
    permissions: list[StrictStr]
    is_admin: StrictBool
    exp: StrictInt
    token_version: StrictInt = Field(default=0, ge=0)

    @property
    def user_id(self) -> int:
        return int(self.id)


def issue_token(
    *,
    user_id: int,
    permissions: Sequence[str],
    is_admin: bool,
    private_key: ec.EllipticCurvePrivateKey,
    lifetime: timedelta,
    token_version: int = 0,
    now: datetime | None = None,
) -> str:
    """Sign a token valid for ``lifetime`` from ``now``; ``exp`` and ``iat`` are whole seconds
    (rounded down)."""
    issued_at = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "id": str(user_id),
        "permissions": list(permissions),
        "is_admin": is_admin,
        "exp": int((issued_at + lifetime).timestamp()),
        "iat": int(issued_at.timestamp()),
        TOKEN_VERSION_CLAIM: token_version,
    }
    return jwt.encode(claims, private_key, algorithm=ALGORITHM)


def decode_token(
    token: str, public_key_pem: str | bytes | ec.EllipticCurvePublicKey
) -> TokenClaims:
    """Verify signature, algorithm, claims and expiry; return the claims or raise
    ``InvalidTokenError`` (``InvalidClaimsError`` when a signed token's claims are wrong).

    Expiry is checked on the validated ``exp``: PyJWT would take a numeric string as a time.
    """
    try:
        payload = jwt.decode(
            token,
            public_key_pem,
            algorithms=[ALGORITHM],
            options={"require": list(REQUIRED_CLAIMS), "verify_exp": False},
            leeway=CLOCK_LEEWAY_S,
        )
    except (jwt.MissingRequiredClaimError, jwt.InvalidIssuedAtError) as exc:
        raise InvalidClaimsError(f"invalid token claims: {exc}") from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"invalid token: {exc}") from exc
    try:
        claims = TokenClaims.model_validate(payload)
    except ValidationError as exc:
        raise InvalidClaimsError(f"invalid token claims: {exc.error_count()} problem(s)") from exc
    if claims.exp <= time.time():
        raise InvalidTokenError("invalid token: Signature has expired")
    return claims
