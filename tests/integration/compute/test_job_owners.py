"""Job owners with auth enforced, on SQLite and PostgreSQL: a user reaches only their own jobs;
anyone else's answers exactly like a missing id; admins reach all; guest mode is unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.integration.compute.job_ops import (
    DATABASES,
    Database,
    list_jobs,
    post_action,
    stack_on,
    user_id,
)
from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg, make_truncated_jpeg
from tests.support.stack import Stack
from tests.support.users import bearer, create_user

pytestmark = pytest.mark.integration


@dataclass
class Owners:
    stack: Stack
    alice: dict[str, str]
    bob: dict[str, str]
    admin: dict[str, str]
    alice_id: str
    bob_id: str
    alice_job: str
    """Completed hash job of alice."""
    bob_job: str
    """Completed hash job of bob."""
    bob_failed: str
    """Failed exif job of bob (retryable)."""


@pytest.fixture(scope="module", params=DATABASES)
def owners(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Owners]:
    database: Database = request.param
    root = tmp_path_factory.mktemp(f"owners-{database}")
    photo = make_jpeg(root / "photo.jpg")
    broken = make_truncated_jpeg(root / "broken.jpg")
    with stack_on(database, root, mode="enforced", tasks=["hash", "exif"]) as stack:
        alice = bearer(create_user(stack, "alice"))
        bob = bearer(create_user(stack, "bob"))
        admin = bearer(stack.admin_token())
        url = stack.compute_url
        alice_job = submit_ok(url, "hash", photo, headers=alice)
        bob_job = submit_ok(url, "hash", photo, headers=bob)
        bob_failed = submit_ok(url, "exif", broken, headers=bob)
        for job_id, headers in ((alice_job, alice), (bob_job, bob), (bob_failed, bob)):
            wait_for_status(url, job_id, headers=headers, timeout=30)
        yield Owners(
            stack=stack,
            alice=alice,
            bob=bob,
            admin=admin,
            alice_id=user_id(stack, alice["Authorization"].split()[1]),
            bob_id=user_id(stack, bob["Authorization"].split()[1]),
            alice_job=alice_job,
            bob_job=bob_job,
            bob_failed=bob_failed,
        )


def _requests(stack: Stack, job_id: str) -> dict[str, tuple[str, str]]:
    base = f"{stack.compute_url}/jobs/{job_id}"
    return {
        "get": ("GET", base),
        "download": ("GET", f"{base}/files/output/hash.json"),
        "cancel": ("POST", f"{base}/cancel"),
        "retry": ("POST", f"{base}/retry"),
        "delete": ("DELETE", base),
    }


def test_jobs_record_their_submitter(owners: Owners) -> None:
    url = owners.stack.compute_url
    job = httpx.get(f"{url}/jobs/{owners.alice_job}", headers=owners.alice).json()
    assert job["created_by"] == owners.alice_id
    assert job["status"] == "completed"
    assert job["attempt"] == 1 and job["worker_id"] == owners.stack.workers[0].worker_id
    assert owners.alice_id != owners.bob_id


@pytest.mark.parametrize("action", ["get", "download", "cancel", "retry", "delete"])
def test_someone_elses_job_is_indistinguishable_from_a_missing_one(
    owners: Owners, action: str
) -> None:
    stack = owners.stack
    for job_id in (owners.bob_job, owners.bob_failed):
        method, url = _requests(stack, job_id)[action]
        response = httpx.request(method, url, headers=owners.alice)
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": f"Job {job_id} not found"}

    missing = str(uuid.uuid4())
    method, url = _requests(stack, missing)[action]
    unknown = httpx.request(method, url, headers=owners.alice)
    assert (unknown.status_code, unknown.json()) == (404, {"detail": f"Job {missing} not found"})

    # Nothing happened to bob's jobs.
    bob_view = httpx.get(f"{stack.compute_url}/jobs/{owners.bob_failed}", headers=owners.bob)
    assert bob_view.json()["status"] == "failed"
    assert httpx.get(f"{stack.compute_url}/jobs/{owners.bob_job}", headers=owners.bob).is_success


def test_owner_reaches_their_own_job(owners: Owners) -> None:
    url = owners.stack.compute_url
    download = httpx.get(
        f"{url}/jobs/{owners.alice_job}/files/output/hash.json", headers=owners.alice
    )
    assert download.status_code == 200 and b"hash_value" in download.content
    cancel = post_action(owners.stack, owners.alice_job, "cancel", owners.alice)
    assert cancel.status_code == 409  # reached the job: it is completed, so not cancellable


def test_lists_of_non_admins_hold_only_their_jobs(owners: Owners) -> None:
    stack = owners.stack
    alice_list = [job["job_id"] for job in list_jobs(stack, owners.alice)["jobs"]]
    assert alice_list == [owners.alice_job]
    bob_list = {job["job_id"] for job in list_jobs(stack, owners.bob)["jobs"]}
    assert bob_list == {owners.bob_job, owners.bob_failed}
    # Asking for someone else's jobs gives nothing, not an error that would confirm the user.
    assert list_jobs(stack, owners.alice, created_by=owners.bob_id) == {
        "jobs": [],
        "next_cursor": None,
    }
    own = list_jobs(stack, owners.alice, created_by=owners.alice_id)["jobs"]
    assert [job["job_id"] for job in own] == [owners.alice_job]
    assert list_jobs(stack, owners.bob, status="failed")["jobs"][0]["job_id"] == owners.bob_failed


def test_admin_sees_and_acts_on_every_job(
    owners: Owners, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stack, admin = owners.stack, owners.admin
    listed = {job["job_id"]: job for job in list_jobs(stack, admin)["jobs"]}
    assert {owners.alice_job, owners.bob_job, owners.bob_failed} <= set(listed)
    assert listed[owners.bob_job]["created_by"] == owners.bob_id
    by_bob = {job["job_id"] for job in list_jobs(stack, admin, created_by=owners.bob_id)["jobs"]}
    assert by_bob == {owners.bob_job, owners.bob_failed}

    url = stack.compute_url
    assert httpx.get(
        f"{url}/jobs/{owners.bob_job}/files/output/hash.json", headers=admin
    ).is_success
    retried = post_action(stack, owners.bob_failed, "retry", admin)
    assert retried.status_code == 200, retried.text
    assert retried.json()["created_by"] == owners.bob_id  # the owner stays the submitter
    again = wait_for_status(url, owners.bob_failed, headers=owners.bob, timeout=30)
    assert (again["status"], again["attempt"]) == ("failed", 2)

    photo = make_jpeg(tmp_path_factory.mktemp("owners-extra") / "photo.jpg")
    extra = submit_ok(url, "hash", photo, headers=owners.bob)
    wait_for_status(url, extra, headers=owners.bob, timeout=30)
    assert httpx.delete(f"{url}/jobs/{extra}", headers=admin).status_code == 204
    assert httpx.get(f"{url}/jobs/{extra}", headers=owners.bob).status_code == 404


def test_guest_mode_lets_everyone_see_everything(
    owners: Owners, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stack, url = owners.stack, owners.stack.compute_url
    switched = httpx.put(
        f"{url}/admin/config/guest-mode", data={"guest_mode": "true"}, headers=owners.admin
    )
    assert switched.status_code == 200
    try:
        listed = {job["job_id"] for job in list_jobs(stack)["jobs"]}
        assert {owners.alice_job, owners.bob_job, owners.bob_failed} <= listed
        assert httpx.get(f"{url}/jobs/{owners.bob_job}").is_success
        photo = make_jpeg(tmp_path_factory.mktemp("owners-guest") / "photo.jpg")
        guest_job = submit_ok(url, "hash", photo)
        assert httpx.get(f"{url}/jobs/{guest_job}").json()["created_by"] is None
    finally:
        restored = httpx.put(
            f"{url}/admin/config/guest-mode", data={"guest_mode": "false"}, headers=owners.admin
        )
        assert restored.status_code == 200
    # A job without an owner is an admin's business once auth is enforced again.
    assert httpx.get(f"{url}/jobs/{guest_job}", headers=owners.alice).status_code == 404
    assert httpx.get(f"{url}/jobs/{guest_job}", headers=owners.admin).is_success
