"""One logging format for every service process, and quiet access logs for polling.

Clients poll: ``--watch`` asks for its job every 2 s, dashboards refresh ``/workers`` and
``/metrics``, ``cl-server up`` probes ``/``. Logged at INFO by uvicorn's access logger, those
requests would bury everything else. A filter on ``uvicorn.access`` therefore re-logs the
successful polling GETs at DEBUG under :data:`POLL_ACCESS_LOGGER`, whose level can be set on
its own (``CL_LOG_LEVEL=DEBUG`` shows them). Other requests (submissions, deletions,
downloads) and every error response keep uvicorn's INFO line.

A filter rather than a middleware with uvicorn's access log turned off: it keeps uvicorn's
line format and client address, and needs no change to the apps.
"""

import logging
import os
import re
from typing import Final

POLL_ACCESS_LOGGER: Final = "cl_server.compute.access_log"
"""Logger of the demoted polling lines."""

_POLL_PATHS: Final = re.compile(r"^/(?:jobs(?:/[^/]+)?|capabilities|workers|events|metrics)?$")
"""``/``, ``/jobs`` (listing), ``/jobs/{id}``, ``/capabilities``, ``/workers``, ``/events``,
``/metrics``; not ``/jobs/{id}/files/...`` (downloads are worth a line)."""


def is_polling_request(method: str, path: str, status: int) -> bool:
    """A successful read that clients repeat on a timer."""
    return method in ("GET", "HEAD") and status < 400 and bool(_POLL_PATHS.match(path))


class PollingAccessFilter(logging.Filter):
    """On ``uvicorn.access``: re-log polling requests at DEBUG under their own logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: '%s - "%s %s HTTP/%s" %d' with
        # (client address, method, path with query, HTTP version, status code).
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return True
        method, full_path, status = args[1], args[2], args[4]
        if not (isinstance(method, str) and isinstance(full_path, str) and isinstance(status, int)):
            return True
        if not is_polling_request(method, full_path.split("?", 1)[0], status):
            return True
        target = logging.getLogger(POLL_ACCESS_LOGGER)
        if target.isEnabledFor(logging.DEBUG):
            record.name = POLL_ACCESS_LOGGER
            record.levelno = logging.DEBUG
            record.levelname = logging.getLevelName(logging.DEBUG)
            target.handle(record)
        return False


def install_polling_access_filter() -> None:
    """Add :class:`PollingAccessFilter` to uvicorn's access logger (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, PollingAccessFilter) for f in access.filters):
        access.addFilter(PollingAccessFilter())


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("CL_LOG_LEVEL") or "INFO").upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # paho and amqtt are chatty at INFO; their warnings still show.
    for noisy in ("amqtt", "transitions", "paho"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_polling_access_filter()
