"""The neutral query: what a facade asks of a collection, independent of any backend."""

from __future__ import annotations

from collections.abc import Sequence
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
