"""Engine construction: SQLite tuned for several processes on one file, PostgreSQL as given.

SQLite: WAL (readers never block the writer), a busy timeout (a writer waits for the lock
instead of failing at once), foreign keys on. SQLAlchemy, not the ``sqlite3`` module, emits
BEGIN (the documented pysqlite recipe), so a write transaction can start with ``BEGIN
IMMEDIATE``: it takes the write lock before its first read, so a claim's read-then-update can
never interleave with another process's claim and never needs a lock upgrade that fails with
"database is locked". That BEGIN waits for the lock in short steps of its own (see
``begin_immediate``) rather than with SQLite's coarse busy handler.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

BUSY_TIMEOUT_MS: Final = 30_000
BEGIN_OPTION: Final = "cl_sqlite_begin"
"""Execution option naming the BEGIN statement a SQLite transaction starts with."""
BEGIN_IMMEDIATE: Final = "BEGIN IMMEDIATE"
SQLITE_POOL_SIZE: Final = 16
PING_AFTER_IDLE_S: Final = 1.0
"""PostgreSQL: a pooled connection idle this long is pinged before use."""
_IDLE_SINCE: Final = "cl_idle_since"
WRITE_LOCK_FIRST_RETRY_S: Final = 0.00005
WRITE_LOCK_LONGEST_RETRY_S: Final = 0.002


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def is_memory_sqlite(url: URL) -> bool:
    """An in-memory SQLite URL: every new connection would open its own empty database."""
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def ensure_sqlite_parent(url: URL) -> None:
    """Create the directory of a SQLite file, so a fresh data directory just works."""
    if not is_sqlite(url) or is_memory_sqlite(url) or url.database is None:
        return
    database = url.database
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_store_engine(url: str | URL, *, commit_waits_for_flush: bool = True) -> Engine:
    """An engine for the job store at ``url``.

    ``commit_waits_for_flush=False`` (PostgreSQL only) gives connections with
    ``synchronous_commit = off``: a commit returns before its WAL reaches the disk. For writes
    that at-least-once delivery redoes anyway (see ``JobStore``); a crash of the database server
    can lose the last fraction of a second of them, never corrupt anything.
    """
    parsed = make_url(url)
    if not is_sqlite(parsed):
        connect_args: dict[str, str] = {}
        if not commit_waits_for_flush:
            given = parsed.query.get("options", "")
            given = given if isinstance(given, str) else " ".join(given)
            connect_args["options"] = f"{given} -c synchronous_commit=off".strip()
        engine = create_engine(parsed, connect_args=connect_args)
        _ping_connections_idle_for(engine, PING_AFTER_IDLE_S)
        return engine

    ensure_sqlite_parent(parsed)
    if is_memory_sqlite(parsed):
        # One shared connection, or every pooled connection would see its own empty database.
        # Only suitable for single-threaded use (tests, throwaway runs).
        engine = create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        # A pool as large as the thread pools that use it: a connection beyond the pool is
        # closed on return, and the next one opened pays for the PRAGMAs again.
        engine = create_engine(
            parsed,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )
    _install_sqlite_hooks(engine)
    return engine


def _ping_connections_idle_for(engine: Engine, idle_s: float) -> None:
    """Check a pooled connection with a ping before use once it has been idle ``idle_s``.

    A PostgreSQL restart must not surface as an error on the next call, which is what
    ``pool_pre_ping`` is for; but it pings on every checkout, a round trip per call on a busy
    store. A connection in use within the last second has just worked; one idle longer is
    pinged, and a failed ping makes the pool replace it (``DisconnectionError``, SQLAlchemy's
    pessimistic-disconnect recipe).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(  # pyright: ignore[reportUnusedFunction]
        _dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry
    ) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(  # pyright: ignore[reportUnusedFunction]
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object
    ) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < idle_s:
            return  # just opened, or used moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(  # pyright: ignore[reportUnusedFunction]
        dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry
    ) -> None:
        # Hand transaction control to SQLAlchemy (the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable against crashes in WAL mode; a power cut can lose the last
            # commits, which at-least-once delivery tolerates.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:  # pyright: ignore[reportUnusedFunction]
        statement = conn.get_execution_options().get(BEGIN_OPTION, "BEGIN")
        # Straight to the driver: exec_driver_sql's cursor and event machinery cost more than
        # the BEGIN itself, on every transaction.
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        if statement == BEGIN_IMMEDIATE:
            begin_immediate(driver)
        else:
            driver.execute(str(statement))


def begin_immediate(driver: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, retrying every 50 µs at first and every 2 ms at most while another
    connection holds the write lock, for up to ``BUSY_TIMEOUT_MS``.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ... ms between tries, so a writer that finds
    the lock held by a 0.3 ms claim waited 1 to 3 ms (measured: a third of the compute
    service's samples in ``bench/cpu_per_job.py`` were such waits in ``create_job``). Only this
    statement retries on its own; every other statement keeps the busy timeout.
    """
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        retry_in = WRITE_LOCK_FIRST_RETRY_S
        give_up_at: float | None = None
        while True:
            try:
                driver.execute(BEGIN_IMMEDIATE)
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
                now = time.monotonic()
                if give_up_at is None:
                    give_up_at = now + BUSY_TIMEOUT_MS / 1000
                elif now >= give_up_at:
                    raise
            time.sleep(retry_in)
            retry_in = min(retry_in * 2, WRITE_LOCK_LONGEST_RETRY_S)
    finally:
        driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
