"""Source versions, asked at most once per `version_ttl` per source.

A version is read *before* the data it validates, so an answer sent under a tag is never
older than the tag says; when the data changes, tags (and the response cache's keys)
follow within `version_ttl`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time

from connectors.base import SourceVersion
from gateway.catalog import CollectionSource

log = logging.getLogger("twinbridge.httpcache")


class Versions:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._memo: dict[str, tuple[float, SourceVersion | None]] = {}
        self._asking: dict[str, asyncio.Lock] = {}
        self._described: dict[str, tuple[object, SourceVersion]] = {}
        self.writes: dict[str, int] = {}  # writes through this process, per source
        # the writes above are this process's own count: in a response store that workers
        # and instances share, another process's count of 1 must not name the same answer
        self._process = os.urandom(8).hex()

    def written(self, source: CollectionSource) -> None:
        """A write went through this process: ask the source's version again at once, and
        key what is cached without a version anew (its time-to-live would serve the
        old answer otherwise)."""
        self._memo.pop(source.name, None)
        self.writes[source.name] = self.writes.get(source.name, 0) + 1

    def written_mark(self, source: CollectionSource) -> str | None:
        """What keys an answer without a version after writes through this process: None
        before any, then this process's own mark, which changes with each write."""
        count = self.writes.get(source.name, 0)
        return f"{self._process}:{count}" if count else None

    async def data(self, source: CollectionSource) -> SourceVersion | None:
        """The data's version; None when the source has none or asking it failed (the
        request then runs as usual and reports the failure itself). An in-memory source's
        is asked each time: it is the loaded data's, known without I/O until the source's
        own reload check is due."""
        if source.in_memory:
            return await self._ask(source)
        memo = self._memo.get(source.name)
        if memo is not None and time.monotonic() < memo[0]:
            return memo[1]
        lock = self._asking.setdefault(source.name, asyncio.Lock())
        async with lock:  # a burst of requests asks the source once
            memo = self._memo.get(source.name)
            if memo is not None and time.monotonic() < memo[0]:
                return memo[1]
            version = await self._ask(source)
            self._memo[source.name] = (time.monotonic() + self.ttl, version)
        return version

    async def _ask(self, source: CollectionSource) -> SourceVersion | None:
        try:
            return await source.data_version()
        except Exception as e:  # noqa: BLE001 - unknown is an answer, not an error
            log.debug("no version for %s: %s", source.name, e)
            return None

    async def metadata(self, source: CollectionSource) -> SourceVersion | None:
        """What a source's metadata (fields, extent) depends on: an in-memory source's
        data; otherwise its description, which is read once when the source opens."""
        if source.in_memory:
            return await self.data(source)
        described = source.description_
        if described is None:
            return None
        known = self._described.get(source.name)
        if known is None or known[0] is not described:
            known = (described, SourceVersion(_digest(repr(described))))
            self._described[source.name] = known
        return known[1]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
