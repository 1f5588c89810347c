"""Importing the broker package must stay cheap: services that only probe never load amqtt."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_amqtt() -> None:
    code = (
        "import sys, cl_server.broker, cl_server.broker.main; "
        "assert 'amqtt' not in sys.modules, 'amqtt imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
