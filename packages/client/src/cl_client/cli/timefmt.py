"""Times for people: ``--since 2h`` in, ``5m ago`` and ``1.4 s`` out (the wire uses epoch ms)."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Final

from cl_client.cli.common import CliError

_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_since(text: str, now: int | None = None) -> int:
    """``--since`` as epoch ms: a duration back from now (``90s``, ``30m``, ``1h30m``, ``2d``,
    ``1w``) or an ISO time (``2026-01-24``, ``2026-01-24T10:30``, with an offset or ``Z``;
    without one it is local time)."""
    value = text.strip().lower()
    parts = _DURATION.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
        return (now_ms() if now is None else now) - int(seconds * 1000)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"--since takes a duration such as 30m, 2h, 1d or an ISO time such as "
            f"2026-01-24T10:30, got {text!r}",
            exit_code=2,
        ) from None
    return int(moment.timestamp() * 1000)


def ago(epoch_ms: int | None, now: int | None = None) -> str:
    """``just now``, ``42s ago``, ``5m ago``, ``3h ago``, ``2d ago``; older: the local date."""
    if epoch_ms is None:
        return "-"
    seconds = ((now_ms() if now is None else now) - epoch_ms) / 1000
    if seconds < 5:
        return "just now"
    for limit, unit, size in ((60, "s", 1), (3600, "m", 60), (86400, "h", 3600)):
        if seconds < limit:
            return f"{int(seconds // size)}{unit} ago"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d ago"
    return datetime.fromtimestamp(epoch_ms / 1000).strftime("%Y-%m-%d %H:%M")


def duration(start_ms: int | None, end_ms: int | None) -> str:
    """``0.4s``, ``12s``, ``3m05s``, ``2h10m``; ``-`` when either end is unknown."""
    if start_ms is None or end_ms is None:
        return "-"
    seconds = max(end_ms - start_ms, 0) / 1000
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
