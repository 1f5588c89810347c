"""File modes: uploads, plugin outputs and SDK downloads follow the umask; secrets stay 0600.

The stack runs under umask 027 (not the usual 022), so a file created with the umask is 0640
and a directory 0750: neither a hard-coded 0644 nor the 0600 of ``tempfile.mkstemp`` passes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cl_client import ComputeClient
from cl_server.auth.bootstrap import ADMIN_PASSWORD_FILE
from cl_server.auth.keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE
from tests.integration.auth.conftest import auth_settings, running_auth
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration

UMASK = 0o027
FILE_MODE = 0o666 & ~UMASK  # 0o640
DIR_MODE = 0o777 & ~UMASK  # 0o750


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def umask_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Set before the stack starts: the compute service (a thread here) and the worker
    # subprocess (which inherits it) both create files under this umask.
    previous = os.umask(UMASK)
    try:
        with running_stack(
            tmp_path_factory.mktemp("modes"),
            mode="no-auth",
            workers=1,
            tasks=["hash", "media_thumbnail"],
        ) as stack:
            yield stack
    finally:
        os.umask(previous)


def _client(stack: Stack) -> ComputeClient:
    return ComputeClient(stack.compute_url, mqtt_broker=stack.mqtt_host, mqtt_port=stack.mqtt_port)


def _job_dir(stack: Stack, job_id: str) -> Path:
    return stack.data_dir / "compute" / "jobs" / job_id


async def test_upload_outputs_and_downloads_follow_the_umask(
    umask_stack: Stack, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "photo.jpg", (80, 60))
    async with _client(umask_stack) as client:
        hashed = await client.hash.compute(photo, wait=True, timeout=60)
        thumb = await client.media_thumbnail.generate(photo, width=32, wait=True, timeout=60)
        assert hashed.status == "completed", hashed
        assert thumb.status == "completed", thumb

        hash_dir = _job_dir(umask_stack, hashed.job_id)
        thumb_dir = _job_dir(umask_stack, thumb.job_id)
        # The upload, written by the compute service.
        assert _mode(hash_dir / "input" / "photo.jpg") == FILE_MODE
        assert _mode(hash_dir / "input") == DIR_MODE
        # The outputs, written by the plugins in the worker process.
        assert _mode(hash_dir / "output" / "hash.json") == FILE_MODE
        assert _mode(thumb_dir / "output" / "thumbnail.jpg") == FILE_MODE
        assert _mode(hash_dir / "output") == DIR_MODE

        # Downloads through the SDK (streamed to a temporary file, then renamed).
        dest = tmp_path / "down" / "hash.json"
        await client.download_job_file(hashed.job_id, "output/hash.json", dest)
        assert _mode(dest) == FILE_MODE
        saved = await client.download_job_outputs(thumb, tmp_path / "outputs")
        assert saved
        assert all(_mode(path) == FILE_MODE for path in saved)
        assert not list((tmp_path / "down").glob(".*.part"))  # no temporary file left


def test_auth_secrets_stay_owner_only_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)  # the worst case: nothing is filtered
    try:
        settings = auth_settings(tmp_path, admin_password=None)
        with running_auth(settings) as client:
            assert client.get("/auth/public-key").status_code == 200
    finally:
        os.umask(previous)
    keys = settings.keys_dir
    assert _mode(keys) == 0o700
    assert _mode(keys / PRIVATE_KEY_FILE) == 0o600
    assert _mode(keys / PUBLIC_KEY_FILE) == 0o644  # public on purpose, but never writable
    assert _mode(tmp_path / ADMIN_PASSWORD_FILE) == 0o600
    assert _mode(tmp_path / "auth.db") == 0o600
