"""begin_immediate: waits for another connection's write lock, gives up after the busy timeout."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from cl_server.store import engine
from cl_server.store.engine import BUSY_TIMEOUT_MS, begin_immediate


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    connection.isolation_level = None
    connection.execute("PRAGMA journal_mode = WAL")
    return connection


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "lock.db"
    with _connect(path) as setup:
        setup.execute("CREATE TABLE t (n INTEGER)")
    return path


def test_waits_for_the_holder_and_keeps_the_busy_timeout(database: Path) -> None:
    holder, waiter = _connect(database), _connect(database)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.05, lambda: holder.execute("COMMIT"))
    release.start()
    begin_immediate(waiter)  # returns once the holder has committed
    release.join()
    waiter.execute("INSERT INTO t VALUES (2)")
    waiter.execute("COMMIT")
    assert [n for (n,) in waiter.execute("SELECT n FROM t ORDER BY n")] == [1, 2]
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (BUSY_TIMEOUT_MS,)
    holder.close()
    waiter.close()


def test_gives_up_once_the_busy_timeout_has_passed(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 30)
    holder, waiter = _connect(database), _connect(database)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(waiter)
    assert not waiter.in_transaction
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (30,)
    holder.execute("ROLLBACK")
    holder.close()
    waiter.close()
