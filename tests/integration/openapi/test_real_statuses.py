"""Statuses the running services really answer are the ones their documents list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.auth.conftest import auth_settings, bearer, login, running_auth
from tests.integration.openapi.conftest import UPLOAD_LIMIT

pytestmark = pytest.mark.integration

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def documented(doc: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(status) for status in doc["paths"][path][method]["responses"]}


@pytest.fixture
def compute(compute_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=compute_url, timeout=30.0) as client:
        yield client


def test_compute_statuses_are_documented(compute: httpx.Client) -> None:
    doc: dict[str, Any] = compute.get("/openapi.json").json()
    seen: list[tuple[str, str, int]] = []

    def check(method: str, path: str, response: httpx.Response, expected: int) -> None:
        assert response.status_code == expected, (method, path, response.text)
        seen.append((method, path, response.status_code))
        assert response.status_code in documented(doc, method, path), (method, path)

    files = {"file": ("a.jpg", JPEG, "image/jpeg")}
    created = compute.post("/jobs/hash", files=files, data={"priority": "3"})
    check("post", "/jobs/hash", created, 200)
    job_id = created.json()["job_id"]
    check("post", "/jobs/hash", compute.post("/jobs/hash", data={"priority": "3"}), 422)
    check(
        "post", "/jobs/image_conversion", compute.post("/jobs/image_conversion", files=files), 422
    )
    broken = compute.post(
        "/jobs/hash", content=b"x", headers={"Content-Type": "multipart/form-data"}
    )
    check("post", "/jobs/hash", broken, 400)
    big = {"file": ("big.bin", b"\0" * (UPLOAD_LIMIT + 1), "application/octet-stream")}
    check("post", "/jobs/exif", compute.post("/jobs/exif", files=big), 413)
    text = compute.post("/jobs/clip_text_embedding", data={"text": "a cat"})
    check("post", "/jobs/clip_text_embedding", text, 200)

    check("get", "/jobs/{job_id}", compute.get(f"/jobs/{job_id}"), 200)
    check("get", "/jobs/{job_id}", compute.get("/jobs/no-such-job"), 404)
    check("get", "/jobs", compute.get("/jobs", params={"cursor": "!!"}), 400)
    check("get", "/jobs", compute.get("/jobs", params={"limit": "0"}), 422)
    download = "/jobs/{job_id}/files/{file_path}"
    check("get", download, compute.get(f"/jobs/{job_id}/files/input/a.jpg"), 200)
    check("get", download, compute.get(f"/jobs/{job_id}/files/input"), 400)
    check("get", download, compute.get(f"/jobs/{job_id}/files/nothing"), 404)
    check("get", download, compute.get(f"/jobs/{job_id}/files/..%2F..%2Fx"), 403)
    check("post", "/jobs/{job_id}/retry", compute.post(f"/jobs/{job_id}/retry"), 409)
    check("post", "/jobs/{job_id}/cancel", compute.post("/jobs/nope/cancel"), 404)
    check("delete", "/admin/jobs/cleanup", compute.delete("/admin/jobs/cleanup?days=-1"), 422)

    guest_off = compute.put("/admin/config/guest-mode", data={"guest_mode": "false"})
    check("put", "/admin/config/guest-mode", guest_off, 200)
    for method, path in [
        ("get", "/jobs"),
        ("get", "/jobs/{job_id}"),
        ("get", "/admin/config"),
        ("get", "/workers"),
        ("get", "/metrics"),
        ("get", "/events"),
    ]:
        url = path.replace("{job_id}", job_id)
        check(method, path, compute.request(method, url), 401)
    bad_token = {"Authorization": "Bearer not-a-jwt"}
    check("delete", "/jobs/{job_id}", compute.delete(f"/jobs/{job_id}", headers=bad_token), 401)
    assert {status for *_, status in seen} == {200, 400, 401, 403, 404, 409, 413, 422}


def test_auth_statuses_are_documented(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = auth_settings(tmp_path_factory.mktemp("auth-statuses"))
    with running_auth(settings) as client:
        doc: dict[str, Any] = client.get("/openapi.json").json()

        def check(method: str, path: str, response: httpx.Response, expected: int) -> None:
            assert response.status_code == expected, (method, path, response.text)
            assert response.status_code in documented(doc, method, path), (method, path)

        admin = bearer(login(client, "admin", "admin-test-pw"))
        wrong = client.post("/auth/token", data={"username": "admin", "password": "nope"})
        check("post", "/auth/token", wrong, 401)
        check("post", "/auth/token", client.post("/auth/token", data={}), 422)
        check("get", "/users/me", client.get("/users/me"), 401)
        user = {"username": "plain", "password": "pw-123"}
        check("post", "/users/", client.post("/users/", data=user, headers=admin), 201)
        check("post", "/users/", client.post("/users/", data=user, headers=admin), 400)
        check("post", "/users/", client.post("/users/", data={"username": "x"}, headers=admin), 422)
        plain = bearer(login(client, "plain", "pw-123"))
        check("get", "/users/", client.get("/users/", headers=plain), 403)
        check("get", "/users/{user_id}", client.get("/users/abc", headers=admin), 422)
        check("get", "/users/{user_id}", client.get("/users/9999", headers=admin), 404)
        check("delete", "/users/{user_id}", client.delete("/users/9999", headers=admin), 404)
        patched = client.patch("/users/9999", data={"is_admin": "true"}, headers=admin)
        check("patch", "/users/{user_id}", patched, 404)
