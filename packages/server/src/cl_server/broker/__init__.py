"""Embedded MQTT broker (amqtt) for single-machine deployments and tests.

Importing this package is cheap: amqtt is imported only when a broker actually starts.
Production deployments may use Mosquitto instead; nothing here is required then.
"""

from cl_server.broker.embedded import EmbeddedBroker
from cl_server.broker.probe import broker_reachable
from cl_server.broker.server import run_broker

__all__ = ["EmbeddedBroker", "broker_reachable", "run_broker"]
