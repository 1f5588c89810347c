"""The opaque ``cursor`` of ``GET /jobs``: the key of the last job on the previous page.

Clients must treat it as opaque; it is URL-safe base64 (no padding) of
``<created_at>:<job_id>``, so it survives a query string without escaping and tells nothing
a client could lean on. Any string that does not decode to that shape is a 400.
"""

from __future__ import annotations

import base64
import binascii

from cl_server.bounds import INT64_MAX
from cl_server.compute.errors import ApiError
from cl_server.store import JobKey

INVALID_CURSOR = "Invalid cursor: pass back the next_cursor of a previous page unchanged"
_MAX_CURSOR_CHARS = 200  # a created_at and a uuid need about 70


def encode_cursor(key: JobKey) -> str:
    raw = f"{key.created_at}:{key.job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> JobKey:
    if not cursor or len(cursor) > _MAX_CURSOR_CHARS:
        raise ApiError(INVALID_CURSOR, status_code=400)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ApiError(INVALID_CURSOR, status_code=400) from exc
    created_at, sep, job_id = raw.partition(":")
    if not sep or not job_id or not created_at.isascii() or not created_at.isdigit():
        raise ApiError(INVALID_CURSOR, status_code=400)
    if int(created_at) > INT64_MAX:  # no stored time is that large; the store would overflow
        raise ApiError(INVALID_CURSOR, status_code=400)
    return JobKey(int(created_at), job_id)
