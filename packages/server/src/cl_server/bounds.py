"""Upper bounds of integers taken from requests, shared by the auth and compute services.

Databases store integers in at most 64 bits (SQLite raises ``OverflowError`` beyond that,
PostgreSQL a numeric error), so an integer a request can send to a query must be bounded before
it reaches one; FastAPI then answers an out-of-range value with 422 instead of a 500.
"""

from __future__ import annotations

from typing import Final

INT64_MAX: Final = 2**63 - 1
"""The largest integer any store column or SQL ``LIMIT``/``OFFSET`` accepts."""

MS_PER_DAY: Final = 86_400_000

MAX_DAYS: Final = INT64_MAX // MS_PER_DAY
"""Most days a request may name: ``now - days * MS_PER_DAY`` still fits 64 bits."""
