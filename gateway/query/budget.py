"""A cost budget for what the gateway evaluates itself.

A filter, bbox or sort a source cannot run is evaluated here after mapping, row by row:
correct, but the work grows with the source, and it runs on the event loop every other
request waits for. A table of 100,000 rows behind a filter PostgreSQL could not run cost
0.8 s per request, and four such requests made an ordinary page take 2 s. So every call
into a source (each member of a federation separately) may read and evaluate at most
`rows` rows and spend at most `seconds` doing so (mapping, testing, sorting: the gateway's
own wall-clock time, not the time it waits for the source; a file held in memory reads
nothing per request, so only its time counts). The source is asked for no more rows than
the budget allows. Past either limit, the request ends with
`QueryTooCostly` (400): the client's query asks too much, the source is fine, so the
circuit breaker does not count it and a federation does not list the source as failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gateway.errors import QueryTooCostly

T = TypeVar("T")
_CHUNK = 512  # items tested between two looks at the clock in `keep`


@dataclass(frozen=True)
class Budget:
    """Limits per source call; 0 means no limit. `source` names the source in the answer."""

    rows: int = 0
    seconds: float = 0.0
    source: str = ""

    def meter(self) -> Meter:
        return Meter(self)


UNLIMITED = Budget()


class Meter:
    """What one source call has spent so far."""

    __slots__ = ("budget", "rows", "seconds")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.rows = 0
        self.seconds = 0.0

    def charge(self, rows: int, seconds: float) -> None:
        self.rows += rows
        self.seconds += seconds
        budget = self.budget
        if budget.rows and self.rows > budget.rows:
            raise _too_costly(budget, f"read and evaluate more than {budget.rows:,} rows", "rows")
        if budget.seconds and self.seconds > budget.seconds:
            what = f"spend more than {budget.seconds:g} s evaluating rows"
            raise _too_costly(budget, what, "seconds")

    def timed(self, work: Callable[[], T]) -> T:
        """Run `work` (say, a sort) and charge its time."""
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.charge(0, time.perf_counter() - started)

    def keep(self, test: Callable[[T], bool], items: Iterable[T], *, rows: bool = True) -> list[T]:
        """The items that pass `test`, charged per chunk (the clock costs more than a row).
        `rows=False`: only the time counts (items held in memory are not read per request)."""
        kept: list[T] = []
        chunk: list[T] = []
        for item in items:
            chunk.append(item)
            if len(chunk) == _CHUNK:
                kept += self._tested(test, chunk, rows)
                chunk = []
        return kept + self._tested(test, chunk, rows)

    def _tested(self, test: Callable[[T], bool], chunk: Sequence[T], rows: bool) -> list[T]:
        count = len(chunk) if rows else 0
        if self.budget.rows and self.rows + count > self.budget.rows:
            self.charge(count, 0.0)  # refuse before the work, not after it
        started = time.perf_counter()
        kept = [item for item in chunk if test(item)]
        self.charge(count, time.perf_counter() - started)
        return kept


def _too_costly(budget: Budget, what: str, key: str) -> QueryTooCostly:
    source = f" of '{budget.source}'" if budget.source else ""
    return QueryTooCostly(
        f"answering would make the gateway {what}{source} itself (limit: "
        f"server.query.scan_{key}); narrow the query with bbox or a filter the source can run"
    )


__all__ = ["UNLIMITED", "Budget", "Meter"]
