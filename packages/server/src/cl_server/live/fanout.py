"""Several consumers of one MQTT topic filter.

``MqttConnection`` keeps one handler per filter (a second ``subscribe`` replaces the first), and
both the live event feed and the metrics feed read ``inference/events``.
"""

from __future__ import annotations

import logging

from cl_server.mqtt.connection import MessageHandler

logger = logging.getLogger(__name__)


def fan_out(*handlers: MessageHandler) -> MessageHandler:
    """One handler that calls each of ``handlers`` in turn; a failing one does not stop the rest."""

    def handle(topic: str, payload: bytes) -> None:
        for handler in handlers:
            try:
                handler(topic, payload)
            except Exception:
                logger.exception("error handling MQTT message on %s", topic)

    return handle
