"""The embedded STA store: one schema, plans shared by the SQLite and PostgreSQL drivers."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, TypeVar

from gateway.sensorthings.store.dialect import Dialect
from gateway.sensorthings.store.plan import Plan

T = TypeVar("T")


class Store(Protocol):
    dialect: Dialect

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def read(self, plan: Plan[T]) -> T:
        """Run a plan in one read-only transaction (a consistent snapshot)."""
        ...

    async def write(self, plan: Plan[T]) -> T:
        """Run a plan in one write transaction: all of it or nothing."""
        ...


def open_store(
    kind: str,
    *,
    path: Path | None = None,
    dsn: str | None = None,
    schema: str = "sta",
    readers: int = 4,
) -> Store:
    if kind == "sqlite":
        from gateway.sensorthings.store.sqlite import SqliteStore

        assert path is not None
        return SqliteStore(path, readers)
    from gateway.sensorthings.store.postgres import PostgresStore

    assert dsn is not None
    return PostgresStore(dsn, schema, readers)
