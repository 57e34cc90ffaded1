"""The daily figures in SQLite, shared by every worker: each flush adds a worker's tally in
one transaction (WAL, so readers never wait), distinct clients are rows (one per client,
cell and day, at most max_clients per cell), and days older than days_kept are deleted.

Called from a worker thread (asyncio.to_thread), never on the event loop."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from gateway.usage.tally import Cell, Tally

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    day TEXT NOT NULL, tenant TEXT NOT NULL, profile TEXT NOT NULL, api TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0, features INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0, unidentified INTEGER NOT NULL DEFAULT 0,
    capped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, tenant, profile, api)
);
CREATE TABLE IF NOT EXISTS clients (
    day TEXT NOT NULL, tenant TEXT NOT NULL, profile TEXT NOT NULL, api TEXT NOT NULL,
    client TEXT NOT NULL,
    PRIMARY KEY (day, tenant, profile, api, client)
) WITHOUT ROWID;
"""
_ADD = """
INSERT INTO usage (day, tenant, profile, api, requests, features, bytes, unidentified, capped)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (day, tenant, profile, api) DO UPDATE SET
    requests = requests + excluded.requests, features = features + excluded.features,
    bytes = bytes + excluded.bytes, unidentified = unidentified + excluded.unidentified,
    capped = max(capped, excluded.capped)
"""
_CELL = "day = ? AND tenant = ? AND profile = ? AND api = ?"
_SUMMARY = """
SELECT u.day, u.tenant, u.profile, u.api, u.requests, u.features, u.bytes, u.unidentified,
       u.capped,
       (SELECT count(*) FROM clients c WHERE c.day = u.day AND c.tenant = u.tenant
            AND c.profile = u.profile AND c.api = u.api)
FROM usage u WHERE u.day >= ? ORDER BY u.day DESC, u.tenant, u.profile, u.api
"""
_TOTALS = """
SELECT u.tenant, u.profile, u.api, sum(u.requests), sum(u.features), sum(u.bytes),
       sum(u.unidentified), max(u.capped),
       (SELECT count(DISTINCT c.client) FROM clients c WHERE c.day >= ?
            AND c.tenant = u.tenant AND c.profile = u.profile AND c.api = u.api)
FROM usage u WHERE u.day >= ? GROUP BY u.tenant, u.profile, u.api
ORDER BY u.tenant, u.profile, u.api
"""
_KEYS = ("requests", "features", "bytes", "unidentified")


class UsageStore:
    def __init__(self, path: Path | None, max_clients: int) -> None:
        """`path` None: in memory (one worker; gone at exit)."""
        self.max_clients = max_clients
        self._lock = threading.Lock()  # one connection, used from worker threads
        target = ":memory:" if path is None else str(path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(target, timeout=30, check_same_thread=False)
        self._db.isolation_level = None  # transactions are explicit
        with self._lock:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def add(self, tally: Tally, oldest_day: str) -> None:
        """Add a tally, and delete the days before `oldest_day`."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # workers take turns; busy waits up to the timeout
            try:
                for cell, c in tally.cells.items():
                    capped = self._clients(cell, c.clients) or c.capped
                    row = (*cell, c.requests, c.features, c.bytes, c.unidentified, int(capped))
                    db.execute(_ADD, row)
                db.execute("DELETE FROM usage WHERE day < ?", (oldest_day,))
                db.execute("DELETE FROM clients WHERE day < ?", (oldest_day,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _clients(self, cell: Cell, clients: set[str]) -> bool:
        """Remember the cell's new clients while there is room; True when one did not fit."""
        if not clients:
            return False
        db = self._db
        known = db.execute(f"SELECT count(*) FROM clients WHERE {_CELL}", cell).fetchone()[0]
        capped = False
        for client in clients:
            if known < self.max_clients:
                cur = db.execute(
                    "INSERT OR IGNORE INTO clients (day, tenant, profile, api, client) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (*cell, client),
                )
                known += cur.rowcount
            elif not capped:
                there = db.execute(
                    f"SELECT 1 FROM clients WHERE {_CELL} AND client = ?", (*cell, client)
                ).fetchone()
                capped = there is None
        return capped

    def summary(self, since_day: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every cell of every day from `since_day` on (newest day first), and the totals
        per cell over those days (its distinct clients over all of them, not a sum)."""
        with self._lock:
            days = self._db.execute(_SUMMARY, (since_day,)).fetchall()
            totals = self._db.execute(_TOTALS, (since_day, since_day)).fetchall()
        return [_doc(("day", "tenant", "profile", "api"), r) for r in days], [
            _doc(("tenant", "profile", "api"), r) for r in totals
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _doc(names: tuple[str, ...], row: tuple[Any, ...]) -> dict[str, Any]:
    """A row of _SUMMARY or _TOTALS: the cell, the counts, capped, clients."""
    n = len(names)
    doc = dict(zip(names + _KEYS, row[: n + 4], strict=True))
    doc.update(clients=row[n + 5], clientsAtLeast=bool(row[n + 4]))
    return doc
