"""Downloaded files get the mode of any file the user writes (umask), not mkstemp's 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cl_client.compute_client import _temp_beside  # pyright: ignore[reportPrivateUsage]
from tests.unit.client.sdk_fakes import FakeComputeServer, offline_client


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    value: int = request.param
    previous = os.umask(value)
    try:
        yield value
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077], indirect=True)
async def test_downloads_follow_the_umask(umask: int, tmp_path: Path) -> None:
    server = FakeComputeServer()
    server.job_files = {"output/hash.json": b"{}", "faces/face_0.png": b"png"}
    job = server.add_job("face_detection")
    async with offline_client(server) as client:
        one = tmp_path / "one" / "hash.json"
        await client.download_job_file(job.job_id, "output/hash.json", one)
        many = await client.download_job_files(
            job.job_id, ["output/hash.json", "faces/face_0.png"], tmp_path / "many"
        )
    for path in [one, *many]:
        assert _mode(path) == 0o666 & ~umask
    assert not [p for p in (tmp_path / "one").iterdir() if p.name.startswith(".")]


def test_temp_names_do_not_collide(tmp_path: Path) -> None:
    dest = tmp_path / "x.bin"
    opened = [_temp_beside(dest) for _ in range(20)]
    try:
        assert len({name for _fd, name in opened}) == 20
        assert all(Path(name).parent == tmp_path for _fd, name in opened)
        assert all(Path(name).name.startswith(".x.bin.") for _fd, name in opened)
    finally:
        for fd, _name in opened:
            os.close(fd)
