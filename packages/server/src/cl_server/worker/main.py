"""``cl-server worker``: one worker in this process, or a pool of them (``--concurrency N``)."""

from __future__ import annotations

import logging
import os
import signal
import socket
from types import FrameType

from cl_client.topics import worker_topic
from cl_server.broker.credentials import service_credentials
from cl_server.logging_setup import configure_logging
from cl_server.mqtt.connection import MqttConnection
from cl_server.settings import WorkerSettings
from cl_server.store import JobStore
from cl_server.worker.loop import Worker
from cl_server.worker.plugins_loader import load_plugins, parse_task_list
from cl_server.worker.pool import WorkerPool

logger = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"worker-{socket.gethostname()}-{os.getpid()}"


def build_worker(settings: WorkerSettings, worker_id: str, *, burst: bool) -> Worker:
    task_types = parse_task_list(settings.tasks)
    plugins = load_plugins(task_types, settings.models_dir)
    store = JobStore.open(
        settings.database_url,
        lease_seconds=settings.lease_seconds,
        max_attempts=settings.max_attempts,
    )
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    account = service_credentials(settings)  # only the service account may publish
    connection = MqttConnection(
        settings.mqtt_host,
        settings.mqtt_port,
        client_id_prefix=f"cl-{worker_id}",
        will_topic=worker_topic(worker_id),
        username=account.username,
        password=account.password,
    )
    worker = Worker(
        worker_id=worker_id,
        store=store,
        connection=connection,
        runners=plugins.runners,
        unavailable=plugins.unavailable,
        execution_provider=plugins.execution_provider,
        models=plugins.models,
        settings=settings,
        burst=burst,
    )
    connection.start()
    return worker


def run_single(settings: WorkerSettings, worker_id: str, burst: bool) -> int:
    """Run one worker in this process until SIGTERM/SIGINT (or an empty queue in burst mode)."""
    configure_logging()
    worker = build_worker(settings, worker_id, burst=burst)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if worker.stopping.is_set():
            raise KeyboardInterrupt  # second signal: stop now
        logger.info("worker %s stopping (signal %d)", worker_id, signum)
        worker.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return worker.run()
    finally:
        worker.store.close()


def run(settings: WorkerSettings, *, worker_id: str | None, concurrency: int, burst: bool) -> int:
    """Entry point of ``cl-server worker``; returns an exit status."""
    base_id = worker_id or settings.worker_id or default_worker_id()
    parse_task_list(settings.tasks)  # fail fast on a typo, before spawning anything
    configure_logging()
    if concurrency <= 1:
        run_single(settings, base_id, burst)
        return 0
    return WorkerPool(settings, base_id, concurrency, burst=burst, target=run_single).run()
