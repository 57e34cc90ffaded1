"""Where the response cache keeps answers: a small protocol, so a store shared by every
worker (Redis) can replace the in-process one without touching the middleware."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Entry:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    expires: float | None = None  # time.monotonic(); None: until evicted
    stored: float = 0.0  # time.time() when kept: a hit says its Age
    served: int = 0  # features the answer holds, counted again on each hit (usage KPIs)

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 64


class ResponseStore(Protocol):
    async def get(self, key: str) -> Entry | None: ...
    async def put(self, key: str, entry: Entry) -> None: ...


class MemoryStore:
    """Least recently used answers leave first once `max_bytes` is exceeded; an answer
    bigger than `max_entry_bytes` is never kept."""

    def __init__(self, max_bytes: int, max_entry_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.used = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires is not None and time.monotonic() >= entry.expires:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    async def put(self, key: str, entry: Entry) -> None:
        size = len(key) + entry.size
        if size > min(self.max_entry_bytes, self.max_bytes):
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = entry
        self.used += size
        while self.used > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self.used -= len(key) + entry.size
