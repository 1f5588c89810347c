"""Run amqtt as an asyncio task: plain MQTT 3.1.1 over TCP, no persistence; only the service
account publishes, anonymous clients read (``cl_server.broker.access``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from cl_server.broker.credentials import ServiceCredentials


class _ProbeNoiseFilter(logging.Filter):
    """Drop amqtt's error lines for connections that close before sending anything.

    TCP health checks (``broker_reachable``, container probes) do exactly that; amqtt logs each
    one at ERROR and WARNING level, which would bury real problems in the service log.
    """

    _PREFIXES = ("No data from ", "Failed to initialize client session: No data")

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self._PREFIXES)


_PROBE_NOISE_FILTER = _ProbeNoiseFilter()


TCP_KEEPALIVE_IDLE_S = 30
TCP_KEEPALIVE_INTERVAL_S = 10
TCP_KEEPALIVE_PROBES = 3


@runtime_checkable
class _SocketOptions(Protocol):
    def setsockopt(self, level: int, optname: int, value: int, /) -> None: ...


def _enable_tcp_keepalive(writer: asyncio.StreamWriter) -> None:
    """Let the kernel notice peers that vanished without closing (power loss, network gone).

    amqtt 0.12 does not enforce the MQTT keep-alive (it never drops a silent client), so a
    worker whose machine dies would keep its capability message and never fire its Last Will.
    With TCP keep-alive the dead connection fails after about 30 + 3 x 10 s, amqtt sees an
    abnormal disconnect and publishes the will. A frozen process on a live host is not detected.
    """
    sock = writer.get_extra_info("socket")
    # asyncio hands out a TransportSocket, uvloop a PseudoSocket: anything with setsockopt.
    if not isinstance(sock, _SocketOptions):
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (
            ("TCP_KEEPIDLE", TCP_KEEPALIVE_IDLE_S),
            ("TCP_KEEPINTVL", TCP_KEEPALIVE_INTERVAL_S),
            ("TCP_KEEPCNT", TCP_KEEPALIVE_PROBES),
        ):
            option = getattr(socket, name, None)  # Linux names; absent on some platforms
            if isinstance(option, int):
                sock.setsockopt(socket.IPPROTO_TCP, option, value)


def _bind_address(host: str, port: int) -> str:
    # amqtt splits "address:port" at the last colon; IPv6 literals need brackets.
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


async def run_broker(
    host: str,
    port: int,
    *,
    credentials: ServiceCredentials,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve MQTT on ``host:port`` until cancelled; set ``ready`` once the port accepts clients.

    ``credentials`` is the one account that may publish; anonymous clients may only subscribe to
    the job event and worker capability topics (see ``cl_server.broker.access``).

    The configuration is explicit so amqtt loads no entry-point plugins: only those two access
    plugins, no ``$SYS`` publisher, no packet/event loggers, no websocket listener and no
    SQLite persistence (nothing is written to the working directory). Retained messages live in
    memory and are lost when the broker stops, which is what the capability topics expect
    (workers re-publish on every heartbeat).
    """
    # Imported here so that ``import cl_server.broker`` stays cheap for services that only probe.
    from amqtt.broker import Broker
    from amqtt.contexts import Action, BrokerConfig, ListenerConfig, ListenerType
    from amqtt.session import Session

    # PUBLISH answers by account name. A dict of at most two entries: only anonymous clients
    # and the service account get past authentication.
    may_publish: dict[str | None, bool] = {}

    class _Broker(Broker):
        async def stream_connected(
            self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
        ) -> None:
            # amqtt (0.12) leaves the transport open when a client disconnects before sending
            # CONNECT (a TCP probe such as broker_reachable does exactly that); the leaked socket
            # later surfaces as a ResourceWarning. Closing an already closed writer is a no-op.
            _enable_tcp_keepalive(writer)
            try:
                await super().stream_connected(reader, writer, listener_name)
            finally:
                writer.close()

        async def _topic_filtering(self, session: Session, topic: str, action: Action) -> bool:
            # ReadOnlyAnonymousTopicPlugin lets every client receive what its (checked)
            # subscription matches, so asking it per delivery changes nothing; amqtt would
            # still spend a task and a gather on each subscriber of each message.
            if action == Action.RECEIVE:
                return True
            if action == Action.PUBLISH:
                # The plugin decides PUBLISH by the account alone (the service may publish
                # anywhere, anonymous clients nowhere), so one answer per account holds for
                # every topic; asking per message cost a task and a gather per publish. Keyed by
                # name, not session: amqtt reuses a session object for a returning client id.
                allowed = may_publish.get(session.username)
                if allowed is None:
                    allowed = await super()._topic_filtering(session, topic, action)
                    may_publish[session.username] = allowed
                return allowed
            return await super()._topic_filtering(session, topic, action)

    config = BrokerConfig(
        listeners={
            "default": ListenerConfig(type=ListenerType.TCP, bind=_bind_address(host, port))
        },
        plugins={
            "cl_server.broker.access.ServiceAuthPlugin": {
                "service_username": credentials.username,
                "service_password": credentials.password,
            },
            "cl_server.broker.access.ReadOnlyAnonymousTopicPlugin": {
                "service_username": credentials.username,
            },
        },
    )
    logging.getLogger("amqtt.broker").addFilter(_PROBE_NOISE_FILTER)  # idempotent: same object
    broker = _Broker(config)
    await broker.start()
    try:
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()  # runs until the surrounding task is cancelled
    finally:
        await broker.shutdown()
