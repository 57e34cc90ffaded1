"""Upstream metadata (capabilities, schemas, conformance, queryables) cached per process.

Metadata changes rarely but is needed by every request, so each entry is fresh for `ttl`
seconds and, after that, still served for up to `stale` seconds while one background call
refreshes it: a request never waits for a refresh of something already known. A burst of
misses for one key makes one upstream call (single flight): the others wait for its result.
A failed load is not cached (the next request tries again); a failed background refresh
keeps the stale value until `stale` runs out, so a short upstream outage does not take the
source's metadata with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("twinbridge.metacache")


@dataclass
class _Entry:
    value: Any
    loaded: float


class MetadataCache:
    def __init__(self, ttl: float = 300.0, stale: float = 3600.0, maxsize: int = 256) -> None:
        self.ttl = ttl
        self.stale = stale
        self.maxsize = maxsize
        self._entries: dict[Hashable, _Entry] = {}
        self._loading: dict[Hashable, asyncio.Task[Any]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(key)
        if entry is not None:
            age = time.monotonic() - entry.loaded
            if age < self.ttl:
                return entry.value
            if age < self.ttl + self.stale:
                self._start(key, load)
                return entry.value
        # shielded: a waiter that is cancelled (its deadline passed) leaves the load running
        # for the others and for the cache
        return await asyncio.shield(self._start(key, load))

    def invalidate(self, key: Hashable | None = None) -> None:
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    def _start(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            task.add_done_callback(_log_failure)
            self._loading[key] = task
        return task

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await load()
        finally:
            self._loading.pop(key, None)
        self._entries.pop(key, None)  # re-insert: dict order is least recently loaded first
        self._entries[key] = _Entry(value, time.monotonic())
        while len(self._entries) > self.maxsize:
            del self._entries[next(iter(self._entries))]
        return value


def _log_failure(task: asyncio.Task[Any]) -> None:
    """Also marks the error as seen when every waiter was cancelled before it came."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("loading upstream metadata failed: %s", error)


__all__ = ["MetadataCache"]
