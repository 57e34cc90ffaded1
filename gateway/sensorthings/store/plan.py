"""Plans: the store's logic written once, for both drivers.

A plan is a generator that yields `Stmt`s and receives each statement's rows back, so the
same code runs in SQLite's worker thread (`run_sync`) and on asyncpg (`run_async`):

    def count_things(sql_dialect) -> Plan[int]:
        rows = yield Stmt("SELECT COUNT(*) FROM things")
        return rows[0][0]

Every statement carries its bound parameters; no user text is ever part of `sql`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Stmt:
    sql: str
    params: list[Any] = field(default_factory=list)
    many: Sequence[Sequence[Any]] | None = None  # executemany with these parameter rows
    copy: tuple[str, Sequence[str]] | None = None  # (table, columns): drivers may COPY `many`


Rows = list[Sequence[Any]]
Plan = Generator[Stmt, Rows, T]


def run_sync(plan: Plan[T], execute: Callable[[Stmt], Rows]) -> T:
    try:
        stmt = next(plan)
        while True:
            stmt = plan.send(execute(stmt))
    except StopIteration as stop:
        return stop.value


async def run_async(plan: Plan[T], execute: Callable[[Stmt], Awaitable[Rows]]) -> T:
    try:
        stmt = next(plan)
        while True:
            rows = await execute(stmt)
            stmt = plan.send(rows)
    except StopIteration as stop:
        return stop.value


def just(value: T) -> Plan[T]:
    """A plan that runs no statement."""
    if False:  # pragma: no cover - makes this function a generator
        yield Stmt("")
    return value
