"""How long the worker pool waits before replacing a child that died."""

from __future__ import annotations

from cl_server.worker.pool import (
    HEALTHY_RUN_S,
    MAX_RESTART_DELAY_S,
    RESTART_DELAY_S,
    next_restart_delay,
)


def test_first_death_waits_the_base_delay() -> None:
    assert next_restart_delay(None, lived_s=0.5) == RESTART_DELAY_S


def test_quick_deaths_in_a_row_double_the_delay_up_to_a_cap() -> None:
    delays: list[float] = []
    delay: float | None = None
    for _ in range(8):
        delay = next_restart_delay(delay, lived_s=1.0)
        delays.append(delay)
    assert delays[:4] == [RESTART_DELAY_S * 2**n for n in range(4)]
    assert delays[-1] == MAX_RESTART_DELAY_S


def test_a_healthy_run_resets_the_delay() -> None:
    assert next_restart_delay(MAX_RESTART_DELAY_S, lived_s=HEALTHY_RUN_S) == RESTART_DELAY_S
