"""The SQLite driver: one file, WAL mode, one writer thread and a pool of reader threads.

Every plan runs inside one transaction on one connection, in a worker thread, so the event
loop never blocks: reads in a deferred transaction (a consistent snapshot while writers
go on), writes in `BEGIN IMMEDIATE` (one writer at a time, also across processes sharing
the file; others wait up to `busy_timeout`).

A write is answered only after its COMMIT returned, and with `synchronous = FULL` the WAL is
fsynced at each commit: an acknowledged write survives a killed process (NORMAL would do for
that) and also a power cut or kernel crash (NORMAL may lose the last commits there). It
costs about 0.2 ms a commit on this project's machines (measured), little next to a request.
"""

from __future__ import annotations

import asyncio
import math
import queue
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from gateway.sensorthings import geo
from gateway.sensorthings.store.dialect import SQLITE
from gateway.sensorthings.store.plan import Plan, Rows, Stmt, run_sync
from gateway.sensorthings.store.refusals import invalid_data, too_complex
from gateway.sensorthings.store.schema import SCHEMA_VERSION, statements

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30000
# SQLite's refusals of statements too big or too deep: the client's query, not the store.
TOO_COMPLEX = (
    "parser stack overflow",
    "expression tree is too large",
    "too many sql variables",
    "like or glob pattern too complex",
    "at most 64 tables in a join",
    "too many terms",
    "too many columns",
    "string or blob too big",
)


def _mod(a: Any, b: Any) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return math.fmod(a, b)


def _floor(a: Any) -> int | None:
    return None if a is None else math.floor(a)


def _ceil(a: Any) -> int | None:
    return None if a is None else math.ceil(a)


def connect(path: Path, cache_mib: int = 8) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA cache_size = -{cache_mib * 1024}")
    conn.create_function("tb_mod", 2, _mod, deterministic=True)
    conn.create_function("tb_floor", 1, _floor, deterministic=True)
    conn.create_function("tb_ceil", 1, _ceil, deterministic=True)
    geo.register(conn)
    return conn


def _execute(conn: sqlite3.Connection, stmt: Stmt) -> Rows:
    if stmt.many is not None:
        conn.executemany(stmt.sql, stmt.many)
        return []
    return conn.execute(stmt.sql, stmt.params).fetchall()


def run_in_transaction(conn: sqlite3.Connection, plan: Plan[T], begin: str) -> T:
    conn.execute(begin)
    try:
        result = run_sync(plan, lambda stmt: _execute(conn, stmt))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def create_schema(path: Path) -> None:
    """Create the file and its tables (idempotent, safe with concurrent starters)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        for ddl in statements(SQLITE):
            conn.execute(ddl)
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def write_sync(path: Path, plan_factory: Callable[[Any], Plan[T]], ctx: Any) -> T:
    """Run one write plan on a file without a running server (CLI, demo generation)."""
    create_schema(path)
    conn = connect(path)
    try:
        return run_in_transaction(conn, plan_factory(ctx), "BEGIN IMMEDIATE")
    finally:
        conn.close()


class SqliteStore:
    dialect = SQLITE

    def __init__(self, path: Path, readers: int = 4) -> None:
        self.path = Path(path)
        self.readers = readers
        self._writer: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._read_conns: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self._watch: sqlite3.Connection | None = None
        self._process = secrets.token_hex(6)  # data_version counts per connection

    def data_version(self) -> str | None:
        """A tag that changes with every commit to the file, by any connection or process:
        SQLite's `PRAGMA data_version` on a connection that never writes (it reads the
        WAL index in shared memory, so it runs on the event loop). None before open."""
        if self._write_conn is None:
            return None
        if self._watch is None:
            self._watch = connect(self.path, cache_mib=1)
            self._all.append(self._watch)
        (counter,) = self._watch.execute("PRAGMA data_version").fetchone()
        return f"{self._process}.{counter}"

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sta-sqlite-writer")
        self._reader = ThreadPoolExecutor(self.readers, thread_name_prefix="sta-sqlite-reader")
        await loop.run_in_executor(self._writer, create_schema, self.path)
        self._write_conn = connect(self.path, cache_mib=32)
        self._all.append(self._write_conn)
        for _ in range(self.readers):
            conn = connect(self.path)
            self._all.append(conn)
            self._read_conns.put(conn)

    async def close(self) -> None:
        for pool in (self._writer, self._reader):
            if pool is not None:
                pool.shutdown(wait=True)
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._watch = self._write_conn = None

    def _read_sync(self, plan: Plan[T]) -> T:
        conn = self._read_conns.get()
        try:
            return run_in_transaction(conn, plan, "BEGIN")
        finally:
            self._read_conns.put(conn)

    async def read(self, plan: Plan[T]) -> T:
        assert self._reader is not None, "store is not open"
        with refusals(readonly=True):
            return await asyncio.get_running_loop().run_in_executor(
                self._reader, self._read_sync, plan
            )

    async def write(self, plan: Plan[T]) -> T:
        assert self._writer is not None and self._write_conn is not None, "store is not open"
        conn = self._write_conn
        with refusals(readonly=False):
            return await asyncio.get_running_loop().run_in_executor(
                self._writer, run_in_transaction, conn, plan, "BEGIN IMMEDIATE"
            )


@contextmanager
def refusals(readonly: bool) -> Iterator[None]:
    """SQLite's refusals of what the client sent as 400s (see `store.refusals`): values it
    cannot bind (an integer beyond 64 bits) and statements beyond its limits."""
    try:
        yield
    except OverflowError as e:
        raise invalid_data(readonly, e) from None
    except (sqlite3.OperationalError, sqlite3.DataError) as e:
        if any(text in str(e).lower() for text in TOO_COMPLEX):
            raise too_complex(readonly, e) from None
        raise
