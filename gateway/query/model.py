"""The neutral query: what a facade asks of a collection, independent of any backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Interval:
    """A closed time interval in UTC; None at either end means open (`..`)."""

    start: datetime | None
    end: datetime | None

    def intersects(self, start: datetime, end: datetime) -> bool:
        """Does a feature's [start, end) (an instant when start == end) meet this interval?"""
        if self.end is not None and start > self.end:
            return False
        if self.start is None:
            return True
        return start >= self.start if start == end else end > self.start


SortKey = tuple[str, bool]  # (property, ascending)


@dataclass(frozen=True)
class Query:
    """Property names are the collection's (profile names when it has a profile)."""

    limit: int
    offset: int = 0
    bbox: BBox | None = None  # CRS84; minx > maxx crosses the antimeridian
    datetime: Interval | None = None
    filter: Any = None  # connectors.filters.Expr
    sortby: tuple[SortKey, ...] = ()
    # Where the previous page ended, as the collection said in Page.resume (from a cursor);
    # None: start at `offset`. A collection that cannot resume pages by `offset` alone.
    resume: Any = None


@dataclass
class Page:
    """One page of mapped features, with the exact total when it is known."""

    features: list[dict[str, Any]]
    number_matched: int | None
    has_next: bool
    failed_sources: list[dict[str, str]] | None = None
    # How to continue after this page without an offset (JSON-able; None: by offset only),
    # and after each of its features (a federation merge consumes part of a member's page).
    resume: Any = None
    positions: Sequence[Any] | None = None


class PageStream:
    """One page whose features arrive in batches (a large page, never held whole).

    `number_matched` is set only when known exactly before the first feature. `has_next`
    and `resume` are final once the batches are exhausted; `positions` are the resume states
    of the features of the batch last handed out (a federation merge stops mid-batch).
    Close it (`aclose`) when stopping early: a source stream holds a connection."""

    def __init__(
        self,
        number_matched: int | None = None,
        failed_sources: list[dict[str, str]] | None = None,
    ) -> None:
        self.number_matched = number_matched
        self.failed_sources = failed_sources
        self.has_next = False
        self.resume: Any = None
        self.positions: Sequence[Any] | None = None

    def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the stream holds; nothing by default."""

    @classmethod
    def of(cls, page: Page, size: int = 128) -> PageStream:
        """A page already in memory, handed out in batches like a stream."""
        return _Listed(page, size)


class _Listed(PageStream):
    def __init__(self, page: Page, size: int) -> None:
        super().__init__(page.number_matched, page.failed_sources)
        self.has_next, self.resume = page.has_next, page.resume
        self._page, self._size = page, size

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        features, positions = self._page.features, self._page.positions
        for start in range(0, len(features), self._size):
            end = start + self._size
            batch = features[start:end]
            self.positions = None if positions is None else _Window(positions, start, len(batch))
            yield batch


class _Window(Sequence[Any]):
    """Part of a page's positions, without computing them (a merge asks for one or two)."""

    def __init__(self, positions: Sequence[Any], start: int, length: int) -> None:
        self._positions, self._start, self._length = positions, start, length

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._positions[self._start + index]
