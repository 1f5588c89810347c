"""The three access states of PROTOCOL §3.1 (auth disabled, guest mode, enforced) and job owners."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

from cl_server.auth.tokens import CLOCK_LEEWAY_S, INVALID_PAYLOAD, TOKEN_VERSION_CLAIM
from cl_server.compute.errors import ForbiddenError, NotAuthenticatedError
from cl_server.compute.public_key import PublicKeySource, PublicKeyUnavailableError

REQUIRED_JOB_PERMISSION = "ai_inference_support"
AccessState = Literal["auth_disabled", "guest", "enforced"]


@dataclass(frozen=True)
class Caller:
    """Who made a request; ``None`` id means unauthenticated access was allowed."""

    user_id: str | None
    is_admin: bool = False
    permissions: list[str] = field(default_factory=list[str])


ANONYMOUS = Caller(user_id=None)


def owner_scope(caller: Caller) -> str | None:
    """The ``created_by`` a caller's jobs are limited to, or ``None`` for every job.

    Only an authenticated non-admin is limited (auth enforced): guest mode and disabled auth
    keep PROTOCOL §3.1's "everyone sees everything", and admins see all jobs. A job submitted
    while not enforced has no owner, so afterwards only admins see it.
    """
    if caller.user_id is None or caller.is_admin:
        return None
    return caller.user_id


def may_access(caller: Caller, created_by: str | None) -> bool:
    """Whether ``caller`` may see and act on a job owned by ``created_by``."""
    scope = owner_scope(caller)
    return scope is None or scope == created_by


def access_state(*, auth_disabled: bool, guest_mode: bool) -> AccessState:
    if auth_disabled:
        return "auth_disabled"
    return "guest" if guest_mode else "enforced"


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _claims_to_caller(claims: dict[str, object]) -> Caller:
    user_id = claims.get("id")
    is_admin = claims.get("is_admin", False)
    permissions = claims.get("permissions", [])
    if not isinstance(user_id, str) or not isinstance(is_admin, bool):
        raise NotAuthenticatedError(INVALID_PAYLOAD)
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise NotAuthenticatedError(INVALID_PAYLOAD)
    return Caller(user_id=user_id, is_admin=is_admin, permissions=[str(p) for p in permissions])


def _time_claim(claims: dict[str, object], name: str, *, integer: bool = False) -> float | None:
    """A NumericDate claim, checked here rather than by PyJWT, which takes any value ``int()``
    accepts (a numeric string, ``true``, a float for ``exp``) as a time."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotAuthenticatedError(INVALID_PAYLOAD)
    if integer and not isinstance(value, int):
        raise NotAuthenticatedError(INVALID_PAYLOAD)
    return value


def _check_times(claims: dict[str, object]) -> None:
    """``exp`` (required; an integer, as PROTOCOL §2.4 issues it) and optional ``nbf``, ``iat``
    (with ``CLOCK_LEEWAY_S``: auth stamps ``iat`` with its own clock)."""
    exp = _time_claim(claims, "exp", integer=True)
    not_before = [_time_claim(claims, "nbf"), _time_claim(claims, "iat")]
    now = time.time()
    if exp is not None and exp <= now:
        raise jwt.ExpiredSignatureError("Signature has expired")
    if any(value is not None and value > now + CLOCK_LEEWAY_S for value in not_before):
        raise jwt.ImmatureSignatureError("The token is not yet valid")


def _token_version(claims: dict[str, object]) -> int:
    """The ``token_version`` claim (``cl_server.auth.revocations``); absent (older tokens) is 0."""
    value = claims.get(TOKEN_VERSION_CLAIM, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise NotAuthenticatedError(INVALID_PAYLOAD)
    return value


def _decode(token: str, public_key: EllipticCurvePublicKey) -> dict[str, object]:
    """Signature, algorithm and required claims by PyJWT; claim types and times by us."""
    claims: dict[str, object] = jwt.decode(
        token,
        public_key,
        algorithms=["ES256"],
        options={
            "require": ["id", "exp"],
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        },
    )
    _check_times(claims)
    return claims


def verify_token(token: str, keys: PublicKeySource) -> Caller:
    """Verify an ES256 token with the auth service's key and map failures to §3.1 messages.

    A token the auth service has since revoked (``keys.revocations``, refreshed in the
    background) is refused like a token of a deleted user: 401 ``Could not validate
    credentials``."""
    try:
        public_key = keys.get()
    except PublicKeyUnavailableError as exc:
        raise NotAuthenticatedError("Could not validate credentials") from exc
    try:
        try:
            claims = _decode(token, public_key)
        except jwt.InvalidSignatureError:
            # The auth service may have rotated its key pair; try the current one once.
            fresh = keys.refresh()
            if fresh is None:
                raise
            claims = _decode(token, fresh)
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticatedError("JWT token has expired") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise NotAuthenticatedError(INVALID_PAYLOAD) from exc
    except jwt.InvalidTokenError as exc:
        raise NotAuthenticatedError("Could not validate credentials") from exc
    caller = _claims_to_caller(claims)
    version = _token_version(claims)
    revocations = keys.revocations
    user_id = caller.user_id
    if revocations is not None and user_id is not None and revocations.is_revoked(user_id, version):
        raise NotAuthenticatedError("Could not validate credentials")
    return caller


def authorize(
    state: AccessState,
    authorization: str | None,
    keys: PublicKeySource,
    *,
    admin: bool,
) -> Caller:
    """The caller, or 401/403: ``/jobs*`` checks with admin=False, ``/admin*`` with True."""
    if state != "enforced":
        # Guest mode and disabled auth never decode the header, so broken tokens are accepted.
        return ANONYMOUS
    token = bearer_token(authorization)
    if token is None:
        raise NotAuthenticatedError("Authentication required")
    caller = verify_token(token, keys)
    if admin:
        if not caller.is_admin:
            raise ForbiddenError("Insufficient permissions. Admin access required")
    elif not caller.is_admin and REQUIRED_JOB_PERMISSION not in caller.permissions:
        raise ForbiddenError(f"Insufficient permissions. Required: {REQUIRED_JOB_PERMISSION}")
    return caller
