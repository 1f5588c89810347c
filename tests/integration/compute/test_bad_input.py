"""No 5xx from bad input (issue 11, point 3), through real auth and compute services.

Integers out of range are 422, unresolvable download paths 400, validly signed tokens with
wrongly typed claims 401 ``JWT payload is invalid`` on both services, and a flood of badly
signed tokens makes compute fetch the auth public key at most once.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cl_server.auth.service import AuthService
from cl_server.bounds import INT64_MAX, MAX_DAYS
from tests.support.jobs import submit, submit_ok
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration

HUGE = "1453839051301208195072"
HUGER = "99999999999999999999"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign(stack: Stack, claims: dict[str, object]) -> str:
    """A token signed with the auth service's own private key, with hand-picked claims."""
    private_key = (stack.data_dir / "keys" / "private_key.pem").read_text()
    return jwt.encode(claims, private_key, algorithm="ES256")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("bad-input"), mode="enforced", workers=0) as stack:
        yield stack


@pytest.fixture(scope="module")
def admin(stack: Stack) -> dict[str, str]:
    return bearer(stack.admin_token())


@pytest.fixture(scope="module")
def job_id(stack: Stack, admin: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    image = make_jpeg(tmp_path_factory.mktemp("img") / "a.jpg")
    return submit_ok(stack.compute_url, "hash", image, headers=admin)


# --- integers out of range -> 422 -----------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"skip": HUGE}, {"limit": HUGE}, {"skip": str(INT64_MAX + 1)}, {"limit": str(2**64)}],
)
def test_auth_user_list_out_of_range_is_422(
    stack: Stack, admin: dict[str, str], params: dict[str, str]
) -> None:
    response = httpx.get(f"{stack.auth_url}/users/", params=params, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_auth_user_list_at_the_bound_is_200(stack: Stack, admin: dict[str, str]) -> None:
    response = httpx.get(
        f"{stack.auth_url}/users/",
        params={"skip": str(INT64_MAX), "limit": str(INT64_MAX)},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json() == []


def test_auth_huge_user_id_is_404_not_500(stack: Stack, admin: dict[str, str]) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = httpx.request(method, f"{stack.auth_url}/users/{HUGE}", headers=admin)
        assert response.status_code == 404, (method, response.text)


def test_cleanup_days_out_of_range_is_422(stack: Stack, admin: dict[str, str]) -> None:
    url = f"{stack.compute_url}/admin/jobs/cleanup"
    for days in (HUGER, HUGE, str(MAX_DAYS + 1)):
        response = httpx.delete(url, params={"days": days}, headers=admin)
        assert response.status_code == 422, (days, response.text)
    at_bound = httpx.delete(url, params={"days": str(MAX_DAYS)}, headers=admin)
    assert at_bound.json() == {"deleted_count": 0, "freed_space": 0}


@pytest.mark.parametrize("name", ["created_after", "created_before", "limit"])
def test_job_list_out_of_range_is_422(stack: Stack, admin: dict[str, str], name: str) -> None:
    for value in (HUGE, str(INT64_MAX + 1)):
        response = httpx.get(f"{stack.compute_url}/jobs", params={name: value}, headers=admin)
        assert response.status_code == 422, (value, response.text)


def test_job_list_times_at_the_bound_are_200(stack: Stack, admin: dict[str, str]) -> None:
    params = {"created_after": "0", "created_before": str(INT64_MAX)}
    response = httpx.get(f"{stack.compute_url}/jobs", params=params, headers=admin)
    assert response.status_code == 200, response.text


def test_cursor_with_a_huge_time_is_400(stack: Stack, admin: dict[str, str]) -> None:
    raw = f"{HUGE}{HUGE}:00000000-0000-4000-8000-000000000000".encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = httpx.get(f"{stack.compute_url}/jobs", params={"cursor": cursor}, headers=admin)
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("Invalid cursor")


def test_priority_out_of_range_is_422(stack: Stack, admin: dict[str, str], tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "p.jpg")
    for priority in (HUGE, "11", "-1"):
        response = submit(stack.compute_url, "hash", image, {"priority": priority}, admin)
        assert response.status_code == 422, (priority, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "priority"]


# --- unresolvable download paths -> 400 -----------------------------------------------------


@pytest.mark.parametrize(
    "file_path",
    [
        "a" * 15_000,  # one component longer than NAME_MAX, the whole longer than PATH_MAX
        "output/" + "b" * 300,
        "/".join(["c" * 200] * 30),
    ],
)
def test_over_long_download_path_is_400(
    stack: Stack, admin: dict[str, str], job_id: str, file_path: str
) -> None:
    url = f"{stack.compute_url}/jobs/{job_id}/files/{file_path}"
    response = httpx.get(url, headers=admin)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail.startswith("Invalid file path: ")
    assert len(detail) < 300  # the path is cut in the message, not echoed whole


def test_missing_and_traversal_paths_keep_their_statuses(
    stack: Stack, admin: dict[str, str], job_id: str
) -> None:
    base = f"{stack.compute_url}/jobs/{job_id}/files"
    assert httpx.get(f"{base}/output/none.json", headers=admin).status_code == 404
    assert httpx.get(f"{base}/input", headers=admin).status_code == 400
    traversal = httpx.get(f"{base}/{'..%2F' * 2000}etc/passwd", headers=admin)
    assert traversal.status_code == 403, traversal.text


# --- wrongly typed claims -> 401 "JWT payload is invalid" ------------------------------------


# Built at collection time, which can be many minutes before these tests run: an hour of
# validity keeps "expired" from masking the wrongly typed claim each case is about.
def _claims(**overrides: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "id": "1",
        "permissions": ["*"],
        "is_admin": True,
        "exp": int(time.time()) + 3600,
    }
    claims.update(overrides)
    return claims


WRONG_CLAIMS = [
    pytest.param(_claims(exp=str(int(time.time()) + 3600)), id="exp-numeric-string"),
    pytest.param(_claims(exp="soon"), id="exp-string"),
    pytest.param(_claims(exp=float(int(time.time()) + 3600)), id="exp-float"),
    pytest.param(_claims(exp=True), id="exp-bool"),
    pytest.param(_claims(exp=None), id="exp-null"),
    pytest.param(_claims(id=1), id="id-int"),
    pytest.param(_claims(id=["1"]), id="id-list"),
    pytest.param(_claims(is_admin="true"), id="is_admin-string"),
    pytest.param(_claims(is_admin=1), id="is_admin-int"),
    pytest.param(_claims(permissions="*"), id="permissions-string"),
    pytest.param(_claims(permissions=[1]), id="permissions-int-items"),
    pytest.param(_claims(iat="now"), id="iat-string"),
]


@pytest.mark.parametrize("claims", WRONG_CLAIMS)
def test_wrongly_typed_claims_are_401_payload_invalid(
    stack: Stack, claims: dict[str, object]
) -> None:
    token = sign(stack, claims)
    for response in (
        httpx.get(f"{stack.compute_url}/admin/config", headers=bearer(token)),
        httpx.get(f"{stack.auth_url}/users/me", headers=bearer(token)),
    ):
        assert response.status_code == 401, (response.url, response.text)
        assert response.json() == {"detail": "JWT payload is invalid"}, response.url
        assert response.headers["www-authenticate"] == "Bearer"


def test_correctly_typed_claims_still_pass(stack: Stack) -> None:
    token = sign(stack, _claims(iat=int(time.time()) - 5))
    assert httpx.get(f"{stack.compute_url}/admin/config", headers=bearer(token)).status_code == 200
    assert httpx.get(f"{stack.auth_url}/users/me", headers=bearer(token)).status_code == 200


def test_expired_and_not_yet_valid_tokens(stack: Stack) -> None:
    expired = sign(stack, _claims(exp=int(time.time()) - 5))
    response = httpx.get(f"{stack.compute_url}/admin/config", headers=bearer(expired))
    assert response.json() == {"detail": "JWT token has expired"}
    auth = httpx.get(f"{stack.auth_url}/users/me", headers=bearer(expired))
    assert auth.json() == {"detail": "Could not validate credentials"}
    future = sign(stack, _claims(nbf=int(time.time()) + 600))
    response = httpx.get(f"{stack.compute_url}/admin/config", headers=bearer(future))
    assert response.json() == {"detail": "Could not validate credentials"}


# --- public-key refetch is throttled ---------------------------------------------------------


def test_bad_signature_flood_fetches_the_key_at_most_once(
    stack: Stack, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted on the auth side: every ``GET /auth/public-key`` reads ``public_key_pem``."""
    fetches: list[float] = []
    original = AuthService.public_key_pem

    def counting(service: AuthService) -> str:
        fetches.append(time.monotonic())
        assert original.fget is not None
        pem: str = original.fget(service)
        return pem

    monkeypatch.setattr(AuthService, "public_key_pem", property(counting))
    # Compute has its key already (or fetches it now, which is not a refetch).
    assert httpx.get(f"{stack.compute_url}/admin/config", headers=admin).status_code == 200
    fetches.clear()

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    forged = jwt.encode(_claims(), other, algorithm="ES256")
    with httpx.Client(base_url=stack.compute_url, headers=bearer(forged)) as client:
        for _ in range(100):
            response = client.get("/admin/config")
            assert response.status_code == 401
            assert response.json() == {"detail": "Could not validate credentials"}
    assert len(fetches) <= 1
    # Real tokens keep working throughout.
    assert httpx.get(f"{stack.compute_url}/admin/config", headers=admin).status_code == 200
