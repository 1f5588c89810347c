"""Time helpers: the wire format is integer milliseconds since the epoch."""

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
