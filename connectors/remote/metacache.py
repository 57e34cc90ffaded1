"""Upstream metadata (capabilities, schemas, conformance, queryables) cached per process.

Metadata changes rarely but is needed by every request, so each entry is fresh for `ttl`
seconds and, after that, still served for up to `stale` seconds while one background call
refreshes it: a request never waits for a refresh of something already known. A burst of
misses for one key makes one upstream call (single flight): the others wait for its result.
A failed load is not cached (the next request tries again); a failed background refresh
keeps the stale value until `stale` runs out, so a short upstream outage does not take the
source's metadata with it.

Across workers and instances the gateway may set `shared` (gateway/shared/flight.py): a
load whose call site names the value's type (`shared_as`, a dataclass the loader returns)
then goes through it, so one worker asks the upstream and the others take its result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
log = logging.getLogger("twinbridge.metacache")


@dataclass
class _Entry:
    value: Any
    loaded: float


class SharedLoads(Protocol):
    """One load per key across processes; the value travels as `kind` (a dataclass)."""

    async def load(
        self, key: str, load: Callable[[], Awaitable[T]], kind: type[T], ttl: float
    ) -> T: ...


class MetadataCache:
    def __init__(self, ttl: float = 300.0, stale: float = 3600.0, maxsize: int = 256) -> None:
        self.ttl = ttl
        self.stale = stale
        self.maxsize = maxsize
        self.shared: SharedLoads | None = None
        self._entries: dict[Hashable, _Entry] = {}
        self._loading: dict[Hashable, asyncio.Task[Any]] = {}

    async def get(
        self, key: Hashable, load: Callable[[], Awaitable[T]], shared_as: type[T] | None = None
    ) -> T:
        if shared_as is not None and self.shared is not None:
            load = self._shared(key, load, shared_as, self.shared)
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

    def _shared(
        self, key: Hashable, load: Callable[[], Awaitable[T]], kind: type[T], shared: SharedLoads
    ) -> Callable[[], Awaitable[T]]:
        async def shared_load() -> T:
            return await shared.load(str(key), load, kind, self.ttl)

        return shared_load

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
