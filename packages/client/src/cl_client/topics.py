"""MQTT topic names (PROTOCOL.md §5.1), shared by SDK and server."""

from typing import Final

JOB_EVENTS_TOPIC: Final = "inference/events"
WORKER_TOPIC_PREFIX: Final = "inference/workers"
WORKER_TOPIC_FILTER: Final = f"{WORKER_TOPIC_PREFIX}/+"


def worker_topic(worker_id: str) -> str:
    return f"{WORKER_TOPIC_PREFIX}/{worker_id}"
