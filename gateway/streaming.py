"""A stream of records from a source, under the source's guard.

A page of a million features is passed on in batches, never collected, so the gateway's
memory stays flat however large the page. The guard's `call` bounds one awaitable; a stream
outlives it, so `SourceGuard.stream` opens one of these:

- opening it, up to its first record, is a call like any other: the source's deadline (or
  an earlier one of a federation), the breaker, the bulkhead;
- the bulkhead slot stays held until the stream ends (a PostGIS stream holds a pooled
  connection), and is released at once when the consumer closes it early (a client that
  went away);
- each further record must come within the source's `timeout` (an idle deadline): time the
  consumer spends on a slow client is not counted against the source; but a client that
  takes no batch for `timeout` seconds loses the stream (slot and connection freed, the
  transfer cut off), or a few clients that stop reading could hold every slot of a city;
- the breaker hears the outcome once, at the end.

A task of its own reads the source a few batches ahead of the consumer, as `call` runs its
work in a task: a driver that is slow to unwind (asyncpg cancelling a query over a broken
network) is cancelled in the background and never holds the caller or the slot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gateway.errors import GatewayError, UpstreamTimeout

if TYPE_CHECKING:
    from gateway.resilience import SourceGuard

S = TypeVar("S", bound=AsyncIterable[Any])
T = TypeVar("T")
BATCH = 128  # records handed over at once: some tens of KB of GeoJSON
AHEAD = 4  # batches read ahead of the consumer at most
FLUSH = 0.05  # seconds a partly filled batch waits for more records


class _Cut(Exception):
    """Ends the reader when the consumer stopped taking batches."""


class SlowClient(GatewayError):
    """The client read the answer too slowly; its stream was given up (the transfer is cut
    off, so no status or body reaches it any more)."""

    status = 408
    code = "RequestTimeout"

    def __init__(self, source: str) -> None:
        super().__init__(f"source '{source}': the client read too slowly; the answer was cut")


class GuardedStream(Generic[S, T]):
    """The records of one source stream, in batches. `source` is what the opening
    coroutine returned (an async iterable of records, with whatever it knows besides)."""

    def __init__(self, guard: SourceGuard, opening: Coroutine[Any, Any, S]) -> None:
        self.guard = guard
        self.source: S | None = None
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._progress = self._started  # when the last record came (or reading resumed)
        self._ready: deque[list[T]] = deque()
        self._arrived = asyncio.Event()  # a batch is ready, or the reader ended
        self._room = asyncio.Event()
        self._room.set()
        self._waiting = False  # the reader waits for room (the consumer is behind)
        self._ended = False  # slot released, outcome told
        self._first = True  # no record handed over yet
        self._cut = False  # ended because the consumer stopped taking batches
        self._task = asyncio.ensure_future(self._read(opening))
        self._task.add_done_callback(lambda _: self._arrived.set())

    async def _read(self, opening: Coroutine[Any, Any, S]) -> None:
        source = await opening
        self.source = source
        records = aiter(source)
        batch: list[T] = []
        loop, filled = self._loop, self._loop.time()
        try:
            async for record in records:
                now = self._progress = loop.time()
                batch.append(record)
                # The first record goes at once: it ends the opening.
                if len(batch) >= BATCH or now - filled >= FLUSH or self._first:
                    await self._hand_over(batch)
                    batch, filled = [], loop.time()
            if batch:
                await self._hand_over(batch)
        except _Cut:
            pass  # the slot is free; the consumer learns it when it asks again
        finally:
            aclose = getattr(records, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _hand_over(self, batch: list[T]) -> None:
        self._first = False
        self._ready.append(batch)
        self._arrived.set()
        if len(self._ready) >= AHEAD:
            self._room.clear()
            self._waiting = True
            try:
                async with asyncio.timeout(self.guard.timeout):
                    await self._room.wait()
            except TimeoutError:
                self._slow_client()
                raise _Cut() from None
            self._waiting = False
            self._progress = self._loop.time()  # the idle clock restarts with reading

    def _slow_client(self) -> None:
        """The consumer took nothing for `timeout` seconds (its client stopped reading):
        free the slot now, from the reader's side; the consumer, if it ever asks again,
        learns that the stream was cut."""
        self._cut = True
        self._ended = True
        self._ready.clear()
        self.guard.bulkhead.release()
        self.guard._settle("slow_client", self._started)

    async def open(self) -> None:
        """Wait for the first record (or the end) by the deadline of an ordinary call."""
        deadline, own = self.guard.deadline()
        try:
            async with asyncio.timeout_at(deadline):
                await self._arrived.wait()
        except TimeoutError:
            waited = deadline - self._started
            self._abandon("timeout" if own else "abandoned")
            raise UpstreamTimeout(self.guard.name, f"no answer within {waited:.3g} s") from None
        except asyncio.CancelledError:
            self._abandon("cancelled")
            raise
        if not self._ready:
            self._end()

    async def next_batch(self) -> list[T] | None:
        """The next batch of records; None at the end. A failure of the source is raised
        as the guard answers it (UpstreamFailed, UpstreamTimeout, …)."""
        while True:
            if self._cut:
                raise SlowClient(self.guard.name)
            if self._ready:
                batch = self._ready.popleft()
                if self._waiting:
                    self._progress = self._loop.time()
                self._room.set()
                return batch
            if self._task.done():
                self._end()
                return None
            self._arrived.clear()
            idle = self._progress + self.guard.timeout - self._loop.time()
            if idle <= 0:
                self._abandon("timeout")
                raise UpstreamTimeout(
                    self.guard.name, f"no record within {self.guard.timeout:g} s mid-stream"
                )
            try:
                async with asyncio.timeout(idle):
                    await self._arrived.wait()
            except TimeoutError:
                continue  # timed out only if no record came meanwhile: checked above
            except asyncio.CancelledError:
                self._abandon("cancelled")
                raise

    async def aclose(self) -> None:
        """Stop early (the consumer has what it wants, or its client went away): the slot is
        free at once, the reader is cancelled and cleans up in the background."""
        if not self._ended:
            self._abandon("cancelled")

    def _end(self) -> None:
        """The reader ended: release the slot and tell the breaker how it went."""
        if self._ended:
            return
        self._ended = True
        self.guard.bulkhead.release()
        task = self._task
        error = None if task.cancelled() else task.exception()
        if error is None:
            self.guard._settle("ok", self._started)
            return
        raise self.guard._failure(error, self._started) from error

    def _abandon(self, outcome: str) -> None:
        self._ended = True
        self._ready.clear()
        self.guard.bulkhead.release()
        if self._task.done():
            if not self._task.cancelled():
                self._task.exception()  # retrieved: an abandoned failure is not news
        else:
            self.guard._orphan(self._task)
        self.guard._settle(outcome, self._started)


__all__ = ["GuardedStream"]
