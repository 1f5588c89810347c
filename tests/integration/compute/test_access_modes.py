"""The three access states of PROTOCOL §3.1 through real auth and compute services."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.jobs import submit, submit_ok, wait_for_status
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack
from tests.support.users import bearer, create_user

pytestmark = pytest.mark.integration


def sign(stack: Stack, claims: dict[str, object]) -> str:
    """A token signed with the auth service's own private key, with hand-picked claims."""
    private_key = (stack.data_dir / "keys" / "private_key.pem").read_text()
    return jwt.encode(claims, private_key, algorithm="ES256")


@pytest.fixture(scope="module")
def enforced_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("enforced"), mode="enforced", workers=1, tasks=["hash"]
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def guest_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("guest"), mode="guest", workers=0) as stack:
        yield stack


class TestEnforced:
    def test_root_says_auth_required(self, enforced_stack: Stack) -> None:
        info = httpx.get(f"{enforced_stack.compute_url}/").json()
        assert info["guestMode"] == "off"
        assert info["auth_required"] is True
        assert httpx.get(f"{enforced_stack.compute_url}/capabilities").status_code == 200

    def test_missing_token(self, enforced_stack: Stack, tmp_path: Path) -> None:
        response = submit(enforced_stack.compute_url, "hash", make_jpeg(tmp_path / "a.jpg"))
        assert response.status_code == 401
        assert response.json() == {"detail": "Authentication required"}
        assert response.headers["www-authenticate"] == "Bearer"
        assert httpx.get(f"{enforced_stack.compute_url}/jobs/x").status_code == 401

    @pytest.mark.parametrize(
        ("make_token", "message"),
        [
            (lambda s: "not-a-jwt", "Could not validate credentials"),
            (
                lambda s: sign(s, {"id": "1", "is_admin": True, "exp": int(time.time()) - 60}),
                "JWT token has expired",
            ),
            (
                lambda s: sign(s, {"is_admin": True, "exp": int(time.time()) + 60}),
                "JWT payload is invalid",
            ),
            (
                lambda s: sign(s, {"id": 1, "is_admin": True, "exp": int(time.time()) + 60}),
                "JWT payload is invalid",
            ),
            (
                lambda s: sign(
                    s,
                    {
                        "id": "1",
                        "permissions": "ai_inference_support",
                        "exp": int(time.time()) + 60,
                    },
                ),
                "JWT payload is invalid",
            ),
        ],
    )
    def test_bad_tokens(self, enforced_stack: Stack, make_token, message: str) -> None:  # type: ignore[no-untyped-def]
        response = httpx.get(
            f"{enforced_stack.compute_url}/jobs/some-id", headers=bearer(make_token(enforced_stack))
        )
        assert response.status_code == 401
        assert response.json() == {"detail": message}

    def test_token_from_another_key_is_rejected(self, enforced_stack: Stack) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        forged = jwt.encode(
            {"id": "1", "is_admin": True, "exp": int(time.time()) + 60}, other, algorithm="ES256"
        )
        response = httpx.get(f"{enforced_stack.compute_url}/jobs/x", headers=bearer(forged))
        assert response.status_code == 401
        assert response.json() == {"detail": "Could not validate credentials"}

    def test_permission_checks(self, enforced_stack: Stack, tmp_path: Path) -> None:
        url = enforced_stack.compute_url
        image = make_jpeg(tmp_path / "p.jpg")
        nobody = create_user(enforced_stack, "noperm", "read:jobs")
        response = submit(url, "hash", image, headers=bearer(nobody))
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Insufficient permissions. Required: ai_inference_support"
        }

        worker_user = create_user(enforced_stack, "inference", "ai_inference_support")
        headers = bearer(worker_user)
        job_id = submit_ok(url, "hash", image, headers=headers)
        job = wait_for_status(url, job_id, headers=headers)
        assert job["status"] == "completed"
        download = httpx.get(f"{url}/jobs/{job_id}/files/output/hash.json", headers=headers)
        assert download.status_code == 200

        admin_only = httpx.get(f"{url}/admin/config", headers=headers)
        assert admin_only.status_code == 403
        assert admin_only.json() == {"detail": "Insufficient permissions. Admin access required"}

    def test_admin_endpoints(self, enforced_stack: Stack, tmp_path: Path) -> None:
        url = enforced_stack.compute_url
        admin = bearer(enforced_stack.admin_token())
        assert httpx.get(f"{url}/admin/config").status_code == 401

        config = httpx.get(f"{url}/admin/config", headers=admin).json()
        assert config["guest_mode"] is False

        job_id = submit_ok(url, "hash", make_jpeg(tmp_path / "s.jpg"), headers=admin)
        wait_for_status(url, job_id, headers=admin)
        size = httpx.get(f"{url}/admin/jobs/storage/size", headers=admin).json()
        assert size["job_count"] >= 1
        assert size["total_size"] > 0

        assert httpx.delete(f"{url}/admin/jobs/cleanup?days=-1", headers=admin).status_code == 422
        kept = httpx.delete(f"{url}/admin/jobs/cleanup?days=7", headers=admin).json()
        assert kept == {"deleted_count": 0, "freed_space": 0}
        cleaned = httpx.delete(f"{url}/admin/jobs/cleanup?days=0", headers=admin).json()
        assert cleaned["deleted_count"] >= 1
        assert cleaned["freed_space"] > 0
        assert httpx.get(f"{url}/jobs/{job_id}", headers=admin).status_code == 404

    def test_guest_mode_toggle_is_immediate_and_persisted(self, enforced_stack: Stack) -> None:
        url = enforced_stack.compute_url
        admin_token = enforced_stack.admin_token()
        admin_id = jwt.decode(admin_token, options={"verify_signature": False})["id"]
        bad_value = httpx.put(
            f"{url}/admin/config/guest-mode",
            data={"guest_mode": "maybe"},
            headers=bearer(admin_token),
        )
        assert bad_value.status_code == 422
        response = httpx.put(
            f"{url}/admin/config/guest-mode",
            data={"guest_mode": "true"},
            headers=bearer(admin_token),
        )
        assert response.json() == {
            "guest_mode": True,
            "message": "Configuration updated successfully",
        }
        try:
            assert httpx.get(f"{url}/").json()["guestMode"] == "on"
            assert httpx.get(f"{url}/jobs/unknown").status_code == 404  # no token needed now
            config = httpx.get(f"{url}/admin/config").json()
            assert config["guest_mode"] is True
            assert config["updated_by"] == admin_id
            assert isinstance(config["updated_at"], int)
        finally:
            # Guest mode is on, so no token is needed to switch it back off.
            off = httpx.put(f"{url}/admin/config/guest-mode", data={"guest_mode": "false"})
            assert off.json()["guest_mode"] is False
        assert httpx.get(f"{url}/jobs/unknown").status_code == 401


class TestGuest:
    def test_guest_mode_accepts_anything(self, guest_stack: Stack, tmp_path: Path) -> None:
        url = guest_stack.compute_url
        info = httpx.get(f"{url}/").json()
        assert info["guestMode"] == "on" and info["auth_required"] is False
        response = submit(
            url, "hash", make_jpeg(tmp_path / "g.jpg"), headers=bearer("garbage.token")
        )
        assert response.status_code == 200
        assert (
            httpx.get(f"{url}/admin/config", headers={"Authorization": "Bearer x"}).status_code
            == 200
        )
        assert httpx.get(f"{url}/admin/jobs/storage/size").status_code == 200
