"""Query parameters of ``GET /jobs`` (job listing filters, PROTOCOL.md §9)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

#: The server's largest page (``limit`` above it is a 422).
MAX_PAGE_SIZE: Final = 500

#: An instant: milliseconds since the Unix epoch, or a datetime (naive means local time).
Instant = int | datetime

QueryParams = dict[str, str | list[str]]


def epoch_ms(value: Instant) -> int:
    """``value`` as integer milliseconds since the epoch (the wire's time unit)."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


def job_list_params(
    *,
    status: str | Iterable[str] | None,
    task_type: str | None,
    created_by: str | None,
    created_after: Instant | None,
    created_before: Instant | None,
    limit: int,
    cursor: str | None,
) -> QueryParams:
    """The query of one ``GET /jobs`` page; filters left as None are not sent."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    params: QueryParams = {"limit": str(limit)}
    if status is not None:
        # Repeated ``status=`` parameters mean "any of these".
        params["status"] = [status] if isinstance(status, str) else list(status)
    if task_type is not None:
        params["task_type"] = task_type
    if created_by is not None:
        params["created_by"] = created_by
    if created_after is not None:
        params["created_after"] = str(epoch_ms(created_after))
    if created_before is not None:
        params["created_before"] = str(epoch_ms(created_before))
    if cursor is not None:
        params["cursor"] = cursor
    return params
