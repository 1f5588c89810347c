"""Upload cost: submitting a large file to the compute service vs writing it to disk directly.

The baseline copies the source file into the same data directory (``shutil.copyfile``, no
``fsync``, as the service does not sync either). The service figure is the wall time of one
``POST /jobs/hash`` with the file streamed from an open handle (as the SDK does) over loopback
HTTP, no worker running, so the job only has to be received, stored and queued.

Run: ``uv run python bench/upload.py [--mib 256] [--rounds 5]``. Figures are medians; the two
sides alternate so machine noise hits both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.stack import running_stack

CHUNK = 1024 * 1024


def make_source(path: Path, mib: int) -> Path:
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(CHUNK))  # incompressible, like photos and videos
    return path


def copy_directly(source: Path, target: Path) -> float:
    started = time.perf_counter()
    shutil.copyfile(source, target)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def upload(client: httpx.Client, url: str, source: Path) -> float:
    started = time.perf_counter()
    with source.open("rb") as handle:
        response = client.post(
            f"{url}/jobs/hash", files={"file": ("big.bin", handle, "application/octet-stream")}
        )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    job_id = response.json()["job_id"]
    client.delete(f"{url}/jobs/{job_id}").raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = make_source(root / "source.bin", args.mib)
        with (
            running_stack(root, workers=0) as stack,
            httpx.Client(timeout=300) as client,
        ):
            direct: list[float] = []
            served: list[float] = []
            for _ in range(args.rounds):
                direct.append(copy_directly(source, stack.data_dir / "baseline.bin"))
                served.append(upload(client, stack.compute_url, source))
    mib = args.mib
    d, s = statistics.median(direct), statistics.median(served)
    print(f"{mib} MiB, median of {args.rounds}")
    print(f"copy into the data directory: {d * 1000:.0f} ms ({mib / d:.0f} MiB/s)")
    print(f"upload to compute: {s * 1000:.0f} ms ({mib / s:.0f} MiB/s), {s / d:.1f}x the copy")


if __name__ == "__main__":
    main()
