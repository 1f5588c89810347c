"""A paho-mqtt client that connects in the background and never blocks job processing.

The job store is the source of truth; MQTT only tells listeners about changes. So a broker that is
down at start or goes away later must not stop a service: messages published while offline wait
in a local queue and go out, in order, as soon as the broker accepts the next connection; paho
reconnects by itself, and subscriptions are renewed on every (re)connect.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from cl_client.paho_shutdown import shut_down_paho_client

logger = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
FINAL_MESSAGE_LINGER_S = 0.3
MAX_OFFLINE_MESSAGES = 10_000
SUBSCRIBE_QOS = 0
"""QoS of every subscription; see ``MqttConnection.subscribe``."""


# paho builds a fresh topic matcher on every call; a service sees a handful of (filter, topic)
# pairs (one events topic, one topic per worker), so each answer is worked out once.
_filter_matches = functools.lru_cache(maxsize=4096)(mqtt.topic_matches_sub)


@dataclass(frozen=True, slots=True)
class _OfflineMessage:
    topic: str
    payload: bytes
    retain: bool


def _disable_nagle(_client: mqtt.Client, _userdata: object, sock: object) -> None:
    """Send small MQTT packets at once: with Nagle's algorithm on, each event waited ~40 ms for
    the broker's delayed ACK, which doubled job latency (measured in bench/job_overhead.py)."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MqttConnection:
    """One background MQTT connection with automatic reconnect and resubscribe."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id_prefix: str,
        will_topic: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._subscriptions: dict[str, MessageHandler] = {}
        self._connect_hooks: list[Callable[[], None]] = []
        self._connected = threading.Event()
        # Guards the connected flag together with the offline queue, so a message is either handed
        # to paho on a live session or queued and flushed by the next on_connect, never neither.
        self._publish_lock = threading.Lock()
        self._offline: deque[_OfflineMessage] = deque(maxlen=MAX_OFFLINE_MESSAGES)
        self._stopping = False
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{client_id_prefix}-{uuid.uuid4().hex[:8]}",
            clean_session=True,
        )
        # Unacknowledged QoS 1 messages of a session that dies are re-sent by paho on reconnect.
        self._client.max_queued_messages_set(MAX_OFFLINE_MESSAGES)
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        if username is not None:  # the service account: only it may publish (docs/broker.md)
            self._client.username_pw_set(username, password)
        if will_topic is not None:
            self._client.will_set(will_topic, payload=b"", qos=1, retain=True)
        self._client.on_socket_open = _disable_nagle
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Begin connecting in the background; returns at once even if no broker answers."""
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def add_connect_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` after every (re)connect, in paho's network thread, before any message of
        the new session is handled."""
        self._connect_hooks.append(hook)

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        """Deliver messages on ``topic`` to ``handler``, from paho's network thread.

        At QoS 0: with a clean session (as here) QoS 1 would not make delivery to this client
        any surer, since the broker drops an unacknowledged message with the session when the
        connection ends, and TCP already delivers everything while it lasts. It would only cost
        an acknowledgement per message, both here and in the broker. (What this service
        *publishes* goes at QoS 1, PROTOCOL §5.1.)
        """
        self._subscriptions[topic] = handler
        if self.connected:
            self._client.subscribe(topic, qos=SUBSCRIBE_QOS)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Send at QoS 1 now, or once the broker is back.

        paho alone can lose a message published while it reconnects: one that lands between the
        new socket and its CONNECT packet is written first, and the broker rejects that session
        (amqtt does; the likely cause of a ``processing`` event lost once in CI after a broker
        restart). Messages still queued when the service stops are dropped; the store has them.
        """
        with self._publish_lock:
            if self._connected.is_set():
                self._client.publish(topic, payload, qos=1, retain=retain)
            else:
                if len(self._offline) == self._offline.maxlen:
                    logger.warning("MQTT offline queue full; dropping the oldest message")
                self._offline.append(_OfflineMessage(topic, payload, retain))

    def stop(self, *, final_topic: str | None = None, timeout: float = 2.0) -> None:
        """Disconnect cleanly, first publishing an empty retained payload on ``final_topic``."""
        if final_topic is not None and self.connected:
            info = self._client.publish(final_topic, b"", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                logger.debug("could not flush %s before disconnect", final_topic)
            else:
                # amqtt acknowledges a message before relaying it, and drops the relay when the
                # sender disconnects at once (seen: a worker stayed listed after SIGTERM).
                time.sleep(FINAL_MESSAGE_LINGER_S)
        self._stopping = True  # our own disconnect is not worth a warning
        shut_down_paho_client(self._client)
        self._connected.clear()

    def _handle_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.warning(
                "MQTT broker %s:%s refused connection: %s", self.host, self.port, reason_code
            )
            return
        for topic in self._subscriptions:
            client.subscribe(topic, qos=SUBSCRIBE_QOS)
        with self._publish_lock:
            self._connected.set()
            while self._offline:
                message = self._offline.popleft()
                client.publish(message.topic, message.payload, qos=1, retain=message.retain)
        logger.info("connected to MQTT broker %s:%s", self.host, self.port)
        for hook in self._connect_hooks:
            hook()

    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._connected.is_set() and not self._stopping:
            logger.warning(
                "lost MQTT broker %s:%s (%s); reconnecting", self.host, self.port, reason_code
            )
        with self._publish_lock:
            self._connected.clear()

    def _handle_message(
        self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        topic = message.topic
        for topic_filter, handler in self._subscriptions.items():
            if _filter_matches(topic_filter, topic):
                try:
                    handler(topic, bytes(message.payload))
                except Exception:  # a bad message must not kill paho's network thread
                    logger.exception("error handling MQTT message on %s", topic)
