"""User management through real HTTP (PROTOCOL.md §2.1-§2.3)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from cl_client.auth_models import UserResponse
from tests.integration.auth.conftest import ADMIN_PASSWORD, bearer, login, unique_name

pytestmark = pytest.mark.integration

MakeUser = Callable[..., dict[str, object]]
CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")


@pytest.fixture(scope="module")
def user_headers(shared_client: httpx.Client, admin_headers: dict[str, str]) -> dict[str, str]:
    """A non-admin user's bearer header."""
    name = unique_name("plain")
    created = shared_client.post(
        "/users/", data={"username": name, "password": "plain-pw"}, headers=admin_headers
    )
    assert created.status_code == 201
    return bearer(login(shared_client, name, "plain-pw"))


# --- create --------------------------------------------------------------------------------


def test_create_returns_201_and_the_user_in_protocol_key_order(
    shared_client: httpx.Client, admin_headers: dict[str, str]
) -> None:
    name = unique_name()
    response = shared_client.post(
        "/users/",
        data={
            "username": name,
            "password": "pw",
            "is_admin": "false",
            "is_active": "true",
            "permissions": "read:jobs,write:jobs",
        },
        headers=admin_headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["username", "is_admin", "is_active", "id", "created_at", "permissions"]
    assert body["username"] == name
    assert body["is_admin"] is False
    assert body["is_active"] is True
    assert isinstance(body["id"], int) and body["id"] > 1
    assert CREATED_AT.match(body["created_at"]), body["created_at"]
    assert body["permissions"] == ["read:jobs", "write:jobs"]
    # The SDK's model reads it.
    assert UserResponse.model_validate(body).id == body["id"]
    # The password works.
    login(shared_client, name, "pw")


def test_create_defaults(make_user: MakeUser) -> None:
    user = make_user()
    assert (user["is_admin"], user["is_active"], user["permissions"]) == (False, True, [])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('["a","b"]', ["a", "b"]),
        ('[" a ", "b:c"]', ["a", "b:c"]),
        ("[a, b]", ["a", "b"]),
        ("['a', 'b']", ["a", "b"]),
        ("a,b", ["a", "b"]),
        (" a , ,b ,", ["a", "b"]),
        ("z,a,m", ["z", "a", "m"]),
        ("", []),
        ("[]", []),
    ],
)
def test_create_parses_every_permissions_format(
    make_user: MakeUser, raw: str, expected: list[str]
) -> None:
    assert make_user(permissions=raw)["permissions"] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("true", True), ("TRUE", True), ("1", True), ("Yes", True), ("on", True)],
        *[("false", False), ("False", False), ("0", False), ("NO", False), ("off", False)],
    ],
)
def test_create_accepts_form_booleans(make_user: MakeUser, raw: str, expected: bool) -> None:
    user = make_user(is_admin=raw, is_active=raw)
    assert user["is_admin"] is expected
    assert user["is_active"] is expected


def test_create_duplicate_username_is_400(
    shared_client: httpx.Client, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    user = make_user()
    response = shared_client.post(
        "/users/", data={"username": user["username"], "password": "x"}, headers=admin_headers
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Username already registered"}


def test_create_with_missing_fields_is_422(
    shared_client: httpx.Client, admin_headers: dict[str, str]
) -> None:
    response = shared_client.post("/users/", data={"is_admin": "true"}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "missing",
                "loc": ["body", "username"],
                "msg": "Field required",
                "input": None,
            },
            {
                "type": "missing",
                "loc": ["body", "password"],
                "msg": "Field required",
                "input": None,
            },
        ]
    }


def test_create_with_bad_boolean_is_422(
    shared_client: httpx.Client, admin_headers: dict[str, str]
) -> None:
    response = shared_client.post(
        "/users/",
        data={"username": unique_name(), "password": "x", "is_admin": "maybe"},
        headers=admin_headers,
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"], error["input"]) == (
        ["body", "is_admin"],
        "bool_parsing",
        "maybe",
    )


def test_password_over_bcrypts_72_bytes_is_422_and_not_echoed(
    shared_client: httpx.Client, admin_headers: dict[str, str]
) -> None:
    name = unique_name()
    at_limit = shared_client.post(
        "/users/", data={"username": name, "password": "é" * 36}, headers=admin_headers
    )
    assert at_limit.status_code == 201  # 72 bytes exactly
    login(shared_client, name, "é" * 36)

    too_long = "é" * 36 + "x"
    response = shared_client.post(
        "/users/", data={"username": unique_name(), "password": too_long}, headers=admin_headers
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "password"]
    assert error["type"] == "password_too_long"
    assert too_long not in response.text


def test_create_with_json_body_is_422_not_accepted(
    shared_client: httpx.Client, admin_headers: dict[str, str]
) -> None:
    response = shared_client.post(
        "/users/", json={"username": unique_name(), "password": "x"}, headers=admin_headers
    )
    assert response.status_code == 422


def test_create_as_non_admin_is_403_and_unauthenticated_is_401(
    shared_client: httpx.Client, user_headers: dict[str, str]
) -> None:
    data = {"username": unique_name(), "password": "x"}
    forbidden = shared_client.post("/users/", data=data, headers=user_headers)
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "The user doesn't have enough privileges"}
    # Authorization comes before body validation: a JSON body changes nothing.
    assert shared_client.post("/users/", json=data, headers=user_headers).status_code == 403
    unauthenticated = shared_client.post(
        "/users/",
        content=b"--broken\r\nnot a multipart body",
        headers={"Content-Type": "multipart/form-data; boundary=broken"},
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {"detail": "Not authenticated"}


# --- list and read -------------------------------------------------------------------------


def test_list_users_ordered_by_id_with_skip_and_limit(client: httpx.Client) -> None:
    headers = bearer(login(client, "admin", ADMIN_PASSWORD))
    names = ["carol", "alice", "bob"]
    for name in names:
        response = client.post("/users/", data={"username": name, "password": "x"}, headers=headers)
        assert response.status_code == 201

    everyone = client.get("/users/", headers=headers)
    assert everyone.status_code == 200
    users = everyone.json()
    assert [u["username"] for u in users] == ["admin", *names]
    assert [u["id"] for u in users] == [1, 2, 3, 4]
    admin = users[0]
    assert admin["is_admin"] is True and admin["permissions"] == ["*"]
    assert all(list(u) == list(admin) for u in users)

    page = client.get("/users/", params={"skip": 1, "limit": 2}, headers=headers)
    assert [u["username"] for u in page.json()] == ["carol", "alice"]
    assert client.get("/users/", params={"skip": 10}, headers=headers).json() == []
    assert client.get("/users/", params={"skip": -1}, headers=headers).status_code == 422
    assert client.get("/users/", params={"limit": "many"}, headers=headers).status_code == 422


def test_list_users_as_non_admin_is_403(
    shared_client: httpx.Client, user_headers: dict[str, str]
) -> None:
    response = shared_client.get("/users/", headers=user_headers)
    assert response.status_code == 403


def test_get_user_by_id(
    shared_client: httpx.Client, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    user = make_user(permissions="p")
    response = shared_client.get(f"/users/{user['id']}", headers=admin_headers)
    assert response.status_code == 200
    assert response.json() == user


def test_get_unknown_user_is_404_and_bad_id_422(
    shared_client: httpx.Client, admin_headers: dict[str, str]
) -> None:
    for user_id in ["999999", "-1", str(2**80)]:
        missing = shared_client.get(f"/users/{user_id}", headers=admin_headers)
        assert missing.status_code == 404
        assert missing.json() == {"detail": "User not found"}
    bad = shared_client.get("/users/abc", headers=admin_headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["path", "user_id"]


def test_non_admin_gets_403_before_404_or_422(
    shared_client: httpx.Client, user_headers: dict[str, str]
) -> None:
    for path in ["/users/1", "/users/999999", "/users/abc"]:
        for method in ["GET", "PUT", "PATCH", "DELETE"]:
            response = shared_client.request(method, path, headers=user_headers)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json() == {"detail": "The user doesn't have enough privileges"}


def test_unauthenticated_user_endpoints_are_401_whatever_the_id_or_body(
    shared_client: httpx.Client,
) -> None:
    for path in ["/users/1", "/users/abc"]:
        for method in ["GET", "PUT", "PATCH", "DELETE"]:
            response = shared_client.request(method, path, json={"is_admin": True})
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"


# --- update --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_only_the_given_fields(
    shared_client: httpx.Client, admin_headers: dict[str, str], make_user: MakeUser, method: str
) -> None:
    user = make_user(password="old-pw", permissions="a,b")
    path = f"/users/{user['id']}"

    nothing = shared_client.request(method, path, data={}, headers=admin_headers)
    assert nothing.status_code == 200
    assert nothing.json() == user

    perms = shared_client.request(
        method, path, data={"permissions": " c , d"}, headers=admin_headers
    )
    assert perms.json()["permissions"] == ["c", "d"]
    assert perms.json()["is_admin"] is False

    flags = shared_client.request(
        method, path, data={"is_admin": "yes", "is_active": "TRUE"}, headers=admin_headers
    )
    assert (flags.json()["is_admin"], flags.json()["permissions"]) == (True, ["c", "d"])

    cleared = shared_client.request(method, path, data={"permissions": ""}, headers=admin_headers)
    assert cleared.json()["permissions"] == []
    assert {k: v for k, v in cleared.json().items() if k not in ("permissions", "is_admin")} == {
        k: v for k, v in user.items() if k not in ("permissions", "is_admin")
    }


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_password_and_deactivation_affect_login(
    shared_client: httpx.Client, admin_headers: dict[str, str], make_user: MakeUser, method: str
) -> None:
    user = make_user(password="old-pw")
    name, path = str(user["username"]), f"/users/{user['id']}"
    changed = shared_client.request(
        method, path, data={"password": "new-pw"}, headers=admin_headers
    )
    assert changed.status_code == 200
    old = shared_client.post("/auth/token", data={"username": name, "password": "old-pw"})
    assert old.status_code == 401
    token = login(shared_client, name, "new-pw")

    off = shared_client.request(method, path, data={"is_active": "off"}, headers=admin_headers)
    assert off.json()["is_active"] is False
    assert (
        shared_client.post("/auth/token", data={"username": name, "password": "new-pw"}).status_code
        == 401
    )
    # A deactivated user's earlier token stops working too.
    assert shared_client.get("/users/me", headers=bearer(token)).status_code == 401


def test_update_unknown_user_is_404_and_bad_fields_422(
    shared_client: httpx.Client, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    missing = shared_client.put("/users/999999", data={"is_admin": "true"}, headers=admin_headers)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "User not found"}
    user = make_user()
    bad = shared_client.patch(
        f"/users/{user['id']}", data={"is_active": "sometimes"}, headers=admin_headers
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "is_active"]


def test_unauthenticated_patch_with_json_body_is_401(
    shared_client: httpx.Client, make_user: MakeUser
) -> None:
    user = make_user()
    response = shared_client.patch(f"/users/{user['id']}", json={"is_admin": True})
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"


# --- delete --------------------------------------------------------------------------------


def test_delete_is_204_then_404(
    shared_client: httpx.Client, admin_headers: dict[str, str], make_user: MakeUser
) -> None:
    user = make_user()
    path = f"/users/{user['id']}"
    deleted = shared_client.delete(path, headers=admin_headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert shared_client.get(path, headers=admin_headers).status_code == 404
    again = shared_client.delete(path, headers=admin_headers)
    assert again.status_code == 404
    assert again.json() == {"detail": "User not found"}
