"""Revocation through the real stack: a change at the auth service voids the user's existing
tokens at the compute service within 5 s, with or without an MQTT broker, while tokens issued
after the change work at once and an auth outage locks nobody out."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.revocation.conftest import (
    REVOCATION_DEADLINE_S,
    USER_PASSWORD,
    RevocationStack,
    revocation_stack,
    wait_for,
)
from tests.support.users import bearer

pytestmark = pytest.mark.integration

JOBS_PERMISSION = "ai_inference_support"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _admin_config_status(stack: RevocationStack, token: str) -> int:
    return httpx.get(f"{stack.compute_url}/admin/config", headers=bearer(token)).status_code


# change id -> (create form: permissions, is_admin), the change, what a fresh login gets after
CASES: dict[str, tuple[str, bool, str]] = {
    "deleted": (JOBS_PERMISSION, False, "delete"),
    "deactivated": (JOBS_PERMISSION, False, "is_active=false"),
    "permission-removed": (
        f"{JOBS_PERMISSION},media_store_read",
        False,
        "permissions=media_store_read",
    ),
    "demoted-admin": ("", True, "is_admin=false"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_change_revokes_the_existing_token_at_compute_within_5_s(
    stack: RevocationStack, case: str
) -> None:
    permissions, is_admin, change = CASES[case]
    name = _name(case)
    user_id = stack.create_user(name, permissions=permissions, is_admin=is_admin)
    token = stack.login(name)
    job_id = stack.submit_job(token)
    assert stack.get_job_status(job_id, token) == 200
    if is_admin:
        assert _admin_config_status(stack, token) == 200

    stack.change_user(user_id, change)
    elapsed = wait_for(
        lambda: stack.get_job_status(job_id, token) == 401,
        REVOCATION_DEADLINE_S,
        f"{case}: the old token still works at compute",
    )
    assert elapsed < REVOCATION_DEADLINE_S
    refused = httpx.get(f"{stack.compute_url}/jobs/{job_id}", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Could not validate credentials"}
    assert refused.headers["www-authenticate"] == "Bearer"
    if is_admin:
        assert _admin_config_status(stack, token) == 401
    # The auth service refuses it too, so it cannot be refreshed into a valid one.
    refresh = httpx.post(f"{stack.auth_url}/auth/token/refresh", headers=bearer(token))
    assert refresh.status_code == 401

    # What the user can do now is what the record says.
    login = httpx.post(
        f"{stack.auth_url}/auth/token", data={"username": name, "password": USER_PASSWORD}
    )
    if change in ("delete", "is_active=false"):
        assert login.status_code == 401
    else:
        fresh = login.json()["access_token"]
        if is_admin:
            assert _admin_config_status(stack, fresh) == 403
        else:
            forbidden = httpx.get(f"{stack.compute_url}/jobs/{job_id}", headers=bearer(fresh))
            assert forbidden.status_code == 403
            assert forbidden.json() == {
                "detail": f"Insufficient permissions. Required: {JOBS_PERMISSION}"
            }


def test_a_token_issued_right_after_a_change_works_at_once(stack: RevocationStack) -> None:
    name = _name("relogin")
    user_id = stack.create_user(name, permissions=f"{JOBS_PERMISSION},media_store_read")
    old = stack.login(name)
    job_id = stack.submit_job(old)
    assert stack.get_job_status(job_id, old) == 200

    stack.change_user(user_id, f"permissions={JOBS_PERMISSION}")  # takes a permission away
    fresh = stack.login(name)  # normally within the same second as the change
    # Accepted at once: before compute has the new list, and after.
    assert stack.get_job_status(job_id, fresh) == 200
    wait_for(
        lambda: stack.get_job_status(job_id, old) == 401,
        REVOCATION_DEADLINE_S,
        "the token from before the change still works",
    )
    assert stack.get_job_status(job_id, fresh) == 200
    refreshed = httpx.post(f"{stack.auth_url}/auth/token/refresh", headers=bearer(fresh))
    assert refreshed.status_code == 200
    assert stack.get_job_status(job_id, refreshed.json()["access_token"]) == 200


def test_adding_rights_revokes_nothing(stack: RevocationStack) -> None:
    name = _name("granted")
    user_id = stack.create_user(name, permissions=JOBS_PERMISSION)
    token = stack.login(name)
    job_id = stack.submit_job(token)
    stack.change_user(user_id, f"permissions={JOBS_PERMISSION},media_store_read")
    stack.change_user(user_id, "is_admin=true")
    listed = httpx.get(f"{stack.auth_url}/auth/revocations").json()
    assert str(user_id) not in listed["token_versions"]
    assert str(user_id) not in listed["deleted"]
    assert stack.get_job_status(job_id, token) == 200


def test_the_revocation_list_is_served_with_an_etag(stack: RevocationStack) -> None:
    url = f"{stack.auth_url}/auth/revocations"
    first = httpx.get(url)
    assert first.status_code == 200
    assert set(first.json()) == {"token_versions", "deleted"}
    etag = first.headers["etag"]
    unchanged = httpx.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag

    user_id = stack.create_user(_name("listed"), permissions=JOBS_PERMISSION)
    stack.change_user(user_id, "delete")
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert str(user_id) in changed.json()["deleted"]


def test_auth_down_keeps_the_last_good_list(tmp_path: Path) -> None:
    with revocation_stack(tmp_path, broker="none", refresh_seconds=0.2) as stack:
        kept = _name("kept")
        stack.create_user(kept, permissions=JOBS_PERMISSION)
        kept_token = stack.login(kept)
        kept_job = stack.submit_job(kept_token)
        gone = _name("gone")
        gone_id = stack.create_user(gone, permissions=JOBS_PERMISSION)
        gone_token = stack.login(gone)
        gone_job = stack.submit_job(gone_token)
        stack.change_user(gone_id, "delete")
        wait_for(
            lambda: stack.get_job_status(gone_job, gone_token) == 401,
            REVOCATION_DEADLINE_S,
            "deleted user's token",
        )

        stack.stop_auth()
        wait_for(lambda: stack.revocations.failing, 5.0, "compute noticing that auth is down")
        # Several failed refreshes later (0.2 s apart), nothing has changed.
        failed_since = time.monotonic()
        while time.monotonic() - failed_since < 1.0:
            assert stack.get_job_status(kept_job, kept_token) == 200  # nobody locked out
            assert stack.get_job_status(gone_job, gone_token) == 401  # revocation kept
            time.sleep(0.1)
        assert stack.revocations.failing
