"""Claimer process for the concurrency test: ``python store_claimer.py URL WORKER_ID SEED``.

Prints ``ready``, waits for a line on stdin (so all claimers start together), then claims
batches of random size until the queue is empty and prints the claimed job ids as JSON.
"""

from __future__ import annotations

import json
import random
import sys

from cl_server.store import JobStore


def main() -> None:
    url, worker_id, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    claimed: list[str] = []
    with JobStore.open(url) as store:
        print("ready", flush=True)
        sys.stdin.readline()
        while batch := store.claim(worker_id, ["hash", "exif"], limit=rng.randint(1, 4)):
            claimed.extend(job.job_id for job in batch)
    print(json.dumps(claimed), flush=True)


if __name__ == "__main__":
    main()
