"""Stopping a paho-mqtt client without leaving sockets for the garbage collector."""

from __future__ import annotations

import paho.mqtt.client as mqtt


def shut_down_paho_client(client: mqtt.Client) -> None:
    """Disconnect, join paho's network thread and close the socket pair ``loop_start`` opened.

    paho closes that pair only in ``Client.__del__``. A client held in a reference cycle (its
    callbacks are bound methods of its owner) is finalised by the cyclic garbage collector, which
    may finalise the sockets first, and they then warn "unclosed socket". ``reinitialise`` is
    paho's public way to close them now; it leaves a blank, unconnected client behind.
    """
    client.disconnect()
    client.loop_stop()
    client.reinitialise()
