"""A worker's tally since its last flush: counts per cell (day, tenant, profile, api) and the
set of distinct client ids, capped so that memory stays bounded whatever clients send."""

from __future__ import annotations

from dataclasses import dataclass, field

Cell = tuple[str, str, str, str]  # day (UTC, ISO), tenant, profile, api


@dataclass(slots=True)
class Counts:
    requests: int = 0
    features: int = 0
    bytes: int = 0
    unidentified: int = 0  # requests that named no valid client
    clients: set[str] = field(default_factory=set)
    capped: bool = False  # more distinct clients came than max_clients: 'at least'


class Tally:
    def __init__(self, max_clients: int) -> None:
        self.max_clients = max_clients
        self.cells: dict[Cell, Counts] = {}

    def add(self, cell: Cell, features: int, size: int, client: str | None) -> None:
        counts = self.cells.get(cell)
        if counts is None:
            counts = self.cells[cell] = Counts()
        counts.requests += 1
        counts.features += features
        counts.bytes += size
        if client is None:
            counts.unidentified += 1
        elif len(counts.clients) < self.max_clients:
            counts.clients.add(client)
        elif client not in counts.clients:
            counts.capped = True

    def merge(self, other: Tally) -> None:
        """Take back a tally whose flush failed."""
        for cell, c in other.cells.items():
            mine = self.cells.setdefault(cell, Counts())
            mine.requests += c.requests
            mine.features += c.features
            mine.bytes += c.bytes
            mine.unidentified += c.unidentified
            room = max(0, self.max_clients - len(mine.clients))
            extra = c.clients - mine.clients
            mine.clients |= set(list(extra)[:room])
            mine.capped = mine.capped or c.capped or len(extra) > room

    def __bool__(self) -> bool:
        return bool(self.cells)
