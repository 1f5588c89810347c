"""TCP reachability probe: is something listening where the broker should be?"""

from __future__ import annotations

import socket


def broker_reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a TCP connection to ``host:port`` succeeds within ``timeout`` seconds.

    Only the TCP handshake is checked (no MQTT CONNECT), so any listener counts; that is what
    ``cl-server up`` needs to decide whether to start its own broker.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
