"""The benchmark job for the peer job queues in ``bench/peers.py``, one definition per library.

Imported by each peer's worker processes (``dramatiq peer_tasks``, ``celery -A peer_tasks``,
``arq peer_tasks.ArqWorkerSettings``, ``rq worker``) and by the load generator. Every library is
optional: a missing one leaves its names undefined and ``bench/peers.py`` skips it.

The job is the same for every system: decode the JPEG at ``path`` with Pillow and SHA-512 its
pixels. ``ping`` returns the worker's pid, so the bench can wait until every worker process is
consuming before it measures.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from PIL import Image

REDIS_URL = os.environ.get("CL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
ONLY = os.environ.get("CL_BENCH_PEER", "")
"""Set in a peer's worker processes (``dramatiq``, ``celery``, ``arq``, ``rq``) so that they
import only their own library; empty in the load generator, which loads them all."""


def _wanted(library: str) -> bool:
    return ONLY in {"", library}


PING_SECONDS = 0.02

# Pillow imports its format plugins on the first open; do it at import, so that RQ's work horses
# (forked per job from a worker that imported this module) do not pay it on every job.
Image.init()


def work(path: str) -> str:
    with Image.open(path) as image:
        image.load()
        return hashlib.sha512(image.tobytes()).hexdigest()


def ping() -> int:
    time.sleep(PING_SECONDS)
    return os.getpid()


# --------------------------------------------------------------------------- Dramatiq

try:
    if not _wanted("dramatiq"):
        raise ImportError("not this worker's library")
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.results import Results
    from dramatiq.results.backends.redis import RedisBackend
except ImportError:
    pass
else:
    dramatiq_broker = RedisBroker(url=REDIS_URL)
    dramatiq_broker.add_middleware(Results(backend=RedisBackend(url=REDIS_URL)))
    dramatiq.set_broker(dramatiq_broker)

    @dramatiq.actor(store_results=True, max_retries=0)
    def dramatiq_hash(path: str) -> str:
        return work(path)

    @dramatiq.actor(store_results=True, max_retries=0)
    def dramatiq_ping() -> int:
        return ping()


# --------------------------------------------------------------------------- Celery

try:
    if not _wanted("celery"):
        raise ImportError("not this worker's library")
    from celery import Celery
except ImportError:
    pass
else:
    celery_app = Celery("peer_tasks", broker=REDIS_URL, backend=REDIS_URL)
    celery_app.conf.update(worker_hijack_root_logger=False, broker_connection_retry=True)

    @celery_app.task(name="celery_hash")
    def celery_hash(path: str) -> str:
        return work(path)

    @celery_app.task(name="celery_ping")
    def celery_ping() -> int:
        return ping()


# --------------------------------------------------------------------------- arq

try:
    if not _wanted("arq"):
        raise ImportError("not this worker's library")
    from arq.connections import RedisSettings
except ImportError:
    pass
else:

    async def arq_hash(_ctx: dict[str, Any], path: str) -> str:
        return work(path)

    async def arq_ping(_ctx: dict[str, Any]) -> int:
        return ping()

    ARQ_POLL_DELAY_S = 0.005
    """arq polls Redis for new jobs (default every 0.5 s) and for results; both at 5 ms here,
    or its latency would be the poll interval."""

    class ArqWorkerSettings:
        functions = (arq_hash, arq_ping)
        redis_settings = RedisSettings.from_dsn(REDIS_URL)
        poll_delay = ARQ_POLL_DELAY_S


# --------------------------------------------------------------------------- RQ

try:
    if not _wanted("rq"):
        raise ImportError("not this worker's library")
    from rq import Worker
except ImportError:
    pass
else:

    class RqWorker(Worker):
        """The stock forking worker; naming it as ``--worker-class`` makes the worker import
        this module before it forks, so each job's work horse does not import it again."""


def rq_hash(path: str) -> str:
    return work(path)


def rq_ping(forked: bool) -> int:
    """The pid of the RQ worker process: the job's own process with ``rq.SimpleWorker``, its
    parent with the stock worker, which forks a work horse per job."""
    time.sleep(PING_SECONDS)
    return os.getppid() if forked else os.getpid()
