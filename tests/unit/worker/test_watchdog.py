from __future__ import annotations

import threading

from cl_server.worker.watchdog import Watchdog


def test_finishing_in_time_triggers_nothing() -> None:
    calls: list[str] = []
    with Watchdog(
        30, grace=30, on_overdue=lambda: calls.append("overdue"), on_stuck=lambda: calls.append("x")
    ):
        pass
    assert calls == []


def test_overdue_then_stopping_within_grace() -> None:
    calls: list[str] = []
    overdue = threading.Event()

    def on_overdue() -> None:
        calls.append("overdue")
        overdue.set()

    with Watchdog(0.01, grace=30, on_overdue=on_overdue, on_stuck=lambda: calls.append("stuck")):
        assert overdue.wait(10)  # the "plugin" notices and returns
    assert calls == ["overdue"]


def test_ignoring_the_stop_request_is_reported_as_stuck() -> None:
    calls: list[str] = []
    stuck = threading.Event()

    def on_stuck() -> None:
        calls.append("stuck")
        stuck.set()

    with Watchdog(0.01, grace=0.01, on_overdue=lambda: calls.append("overdue"), on_stuck=on_stuck):
        assert stuck.wait(10)
    assert calls == ["overdue", "stuck"]
