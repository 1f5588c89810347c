"""Login, refresh, public key and bearer-token checks through real HTTP (PROTOCOL.md §2.1, §2.4)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cl_client.auth_models import PublicKeyResponse, TokenResponse
from cl_server.auth.tokens import decode_token, issue_token
from tests.integration.auth.conftest import (
    ADMIN_PASSWORD,
    auth_settings,
    bearer,
    login,
    running_auth,
)

pytestmark = pytest.mark.integration

MakeUser = Callable[..., dict[str, object]]


def _public_key(client: httpx.Client) -> str:
    response = client.get("/auth/public-key")
    assert response.status_code == 200
    body = PublicKeyResponse.model_validate(response.json())
    assert body.algorithm == "ES256"
    return body.public_key


def _assert_401(response: httpx.Response, detail: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"


def test_root_says_the_service_is_running(shared_client: httpx.Client) -> None:
    response = shared_client.get("/")
    assert response.status_code == 200
    assert response.json() == {"message": "authentication service is running"}


def test_login_issues_an_es256_token_with_the_protocol_claims_iat_and_token_version(
    shared_client: httpx.Client,
) -> None:
    before = time.time()
    response = shared_client.post(
        "/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    token = TokenResponse.model_validate(response.json())
    assert response.json()["token_type"] == "bearer"

    assert jwt.get_unverified_header(token.access_token) == {"alg": "ES256", "typ": "JWT"}
    payload = jwt.decode(token.access_token, _public_key(shared_client), algorithms=["ES256"])
    assert set(payload) == {"id", "permissions", "is_admin", "exp", "iat", "token_version"}
    assert payload["id"] == "1"
    assert payload["token_version"] == 0
    assert before - 1 <= payload["iat"] <= time.time()
    assert payload["permissions"] == ["*"]
    assert payload["is_admin"] is True
    # Default lifetime: 30 minutes.
    assert before + 30 * 60 - 2 <= payload["exp"] <= time.time() + 30 * 60


def test_public_key_verifies_issued_tokens_with_decode_token(
    shared_client: httpx.Client, make_user: MakeUser
) -> None:
    user = make_user(password="pk-pw", permissions="read:jobs,write:jobs")
    token = login(shared_client, str(user["username"]), "pk-pw")
    claims = decode_token(token, _public_key(shared_client))
    assert claims.user_id == user["id"]
    assert claims.permissions == ["read:jobs", "write:jobs"]
    assert claims.is_admin is False


def test_login_accepts_grant_type_password_and_rejects_other_grant_types(
    shared_client: httpx.Client,
) -> None:
    form = {"username": "admin", "password": ADMIN_PASSWORD}
    ok = shared_client.post("/auth/token", data={**form, "grant_type": "password", "scope": ""})
    assert ok.status_code == 200
    bad = shared_client.post("/auth/token", data={**form, "grant_type": "client_credentials"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "grant_type"]


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong"), ("nobody-here", "whatever"), ("admin", "x" * 100)],
)
def test_login_with_bad_credentials_is_401(
    shared_client: httpx.Client, username: str, password: str
) -> None:
    response = shared_client.post("/auth/token", data={"username": username, "password": password})
    _assert_401(response, "Incorrect username or password")


def test_login_with_missing_fields_is_422_with_fastapi_detail(shared_client: httpx.Client) -> None:
    response = shared_client.post("/auth/token", data={"username": "admin"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["body", "password"], "msg": "Field required", "input": None}
        ]
    }


def test_login_of_inactive_user_is_401(shared_client: httpx.Client, make_user: MakeUser) -> None:
    user = make_user(password="inactive-pw", is_active="false")
    response = shared_client.post(
        "/auth/token", data={"username": user["username"], "password": "inactive-pw"}
    )
    _assert_401(response, "Inactive user")


def test_missing_token_is_401_not_authenticated(shared_client: httpx.Client) -> None:
    for method, path in [("GET", "/users/me"), ("POST", "/auth/token/refresh"), ("GET", "/users/")]:
        _assert_401(shared_client.request(method, path), "Not authenticated")
    # Another scheme is not a bearer token either.
    basic = shared_client.get("/users/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    _assert_401(basic, "Not authenticated")


def test_malformed_and_foreign_tokens_are_401_could_not_validate(
    shared_client: httpx.Client,
) -> None:
    foreign_key = ec.generate_private_key(ec.SECP256R1())
    forged = issue_token(
        user_id=1,
        permissions=["*"],
        is_admin=True,
        private_key=foreign_key,
        lifetime=timedelta(minutes=5),
    )
    unsigned = jwt.encode(
        {"id": "1", "permissions": ["*"], "is_admin": True, "exp": int(time.time()) + 300},
        key="",
        algorithm="none",
    )
    for token in ["garbage", "a.b.c", forged, unsigned]:
        _assert_401(
            shared_client.get("/users/me", headers=bearer(token)), "Could not validate credentials"
        )


def test_expired_token_is_401(tmp_path: Path) -> None:
    # A zero lifetime makes a token's exp the second it was issued in: expired on arrival,
    # so no waiting is needed.
    with running_auth(auth_settings(tmp_path, token_lifetime_minutes=0)) as client:
        token = login(client, "admin", ADMIN_PASSWORD)
        _assert_401(
            client.get("/users/me", headers=bearer(token)), "Could not validate credentials"
        )
        _assert_401(
            client.post("/auth/token/refresh", headers=bearer(token)),
            "Could not validate credentials",
        )


def test_short_lifetime_sets_exp_from_settings(tmp_path: Path) -> None:
    with running_auth(auth_settings(tmp_path, token_lifetime_minutes=0.1)) as client:
        before = int(time.time())
        token = login(client, "admin", ADMIN_PASSWORD)
        claims = decode_token(token, _public_key(client))
        assert before + 6 - 1 <= claims.exp <= int(time.time()) + 6
        assert client.get("/users/me", headers=bearer(token)).status_code == 200


def test_token_of_deleted_user_is_401(
    shared_client: httpx.Client, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    user = make_user(password="doomed-pw")
    token = login(shared_client, str(user["username"]), "doomed-pw")
    assert shared_client.get("/users/me", headers=bearer(token)).status_code == 200
    assert shared_client.delete(f"/users/{user['id']}", headers=admin_headers).status_code == 204
    _assert_401(
        shared_client.get("/users/me", headers=bearer(token)), "Could not validate credentials"
    )
    _assert_401(
        shared_client.post("/auth/token/refresh", headers=bearer(token)),
        "Could not validate credentials",
    )
    # A user created afterwards never inherits the deleted user's id, hence its tokens.
    newcomer = make_user()
    assert newcomer["id"] != user["id"]
    _assert_401(
        shared_client.get("/users/me", headers=bearer(token)), "Could not validate credentials"
    )


def test_refresh_reissues_with_claims_reread_from_the_user_record(
    shared_client: httpx.Client, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    user = make_user(password="refresh-pw", permissions="a")
    old = login(shared_client, str(user["username"]), "refresh-pw")
    # Only adds rights, so the old token stays valid (docs/auth.md, "Token revocation").
    changed = shared_client.put(
        f"/users/{user['id']}",
        data={"permissions": "a,b,c", "is_admin": "true"},
        headers=admin_headers,
    )
    assert changed.status_code == 200

    response = shared_client.post("/auth/token/refresh", headers=bearer(old))
    assert response.status_code == 200
    new = TokenResponse.model_validate(response.json()).access_token
    key = _public_key(shared_client)
    assert decode_token(old, key).permissions == ["a"]
    claims = decode_token(new, key)
    assert claims.permissions == ["a", "b", "c"]
    assert claims.is_admin is True
    assert claims.user_id == user["id"]

    # Taking a permission away revokes both: neither can be refreshed any more.
    removed = shared_client.put(
        f"/users/{user['id']}", data={"permissions": "b,c"}, headers=admin_headers
    )
    assert removed.status_code == 200
    for token in (old, new):
        refused = shared_client.post("/auth/token/refresh", headers=bearer(token))
        _assert_401(refused, "Could not validate credentials")
    renewed = login(shared_client, str(user["username"]), "refresh-pw")
    assert decode_token(renewed, key).permissions == ["b", "c"]
    assert shared_client.post("/auth/token/refresh", headers=bearer(renewed)).status_code == 200


def test_unauthenticated_refresh_with_a_json_body_is_401(shared_client: httpx.Client) -> None:
    response = shared_client.post("/auth/token/refresh", json={"token": "x"})
    _assert_401(response, "Not authenticated")


def test_users_me_returns_the_callers_record(
    shared_client: httpx.Client, make_user: MakeUser
) -> None:
    user = make_user(password="me-pw", permissions="x,y")
    token = login(shared_client, str(user["username"]), "me-pw")
    response = shared_client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == user
