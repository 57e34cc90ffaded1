"""Every call to a backend goes through the guard of its source.

One city's broken or slow server, or one hostile client, must not take the others down.
So each call gets:
- a **deadline that holds**: the work runs in a task of its own; when time is up the
  caller gets its 504 at once and the task is cancelled in the background, so a backend
  that drips bytes or a driver that cleans up slowly cannot stretch the answer;
- a **circuit breaker** fed only by failures of the backend itself (errors, timeouts,
  garbage), never by what a client sent (answered 4xx), a query the backend called too
  costly, or load shed here;
- a **bulkhead**: at most `concurrency` calls at once, at most `queue` more waiting, each
  at most `queue_timeout`; beyond that the call is shed with 503 and Retry-After at once;
  a stream (`stream`, gateway/streaming.py) holds its slot until it ends;
- metrics, and a log line with the request id for each failure. Clients get a message that
  names the source only; drivers' errors, hosts and upstream texts stay in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from connectors.errors import (
    SourceAnswerTooLarge,
    SourceError,
    SourceRefused,
    SourceRejectedValue,
    SourceStatementTimeout,
    SourceTimeout,
)
from gateway import metrics
from gateway.breaker import Breaker
from gateway.context import DEADLINE, REQUEST_ID
from gateway.errors import (
    GatewayError,
    InvalidParameter,
    SourceBusy,
    UpstreamFailed,
    UpstreamTimeout,
)

if TYPE_CHECKING:
    from gateway.streaming import GuardedStream

T = TypeVar("T")
S = TypeVar("S")
_NAMED_FAILURES = (
    SourceError,
    GatewayError,
    SourceStatementTimeout,
    SourceAnswerTooLarge,
    OSError,
    TimeoutError,
)
log = logging.getLogger("twinbridge.sources")


class Resilience(BaseModel):
    """How calls to one source are bounded. `server.resilience` holds the defaults; a
    collection or SensorThings upstream may override any key in its own `resilience`."""

    model_config = ConfigDict(extra="forbid")
    timeout: float = Field(
        10.0, gt=0, description="Seconds one call to the source may take, wall clock (504)."
    )
    breaker_failures: int = Field(
        5,
        ge=0,
        description="Consecutive failures of the source (errors, timeouts, garbage; never "
        "a client's invalid or too costly request) after which it is left alone for "
        "breaker_cooldown seconds: calls fail at once (502, or a flagged partial result). "
        "0 turns the breaker off.",
    )
    breaker_cooldown: float = Field(
        30.0, gt=0, description="Seconds an open breaker waits before one trial call."
    )
    concurrency: int | None = Field(
        None,
        ge=1,
        description="Calls to the source at once, per worker. Default: the connector's own "
        "limit (PostGIS: pool_max_size), none for in-memory files.",
    )
    queue: int | None = Field(
        None,
        ge=0,
        description="Most calls that may wait for a free slot, in arrival order (default: "
        "50 × concurrency); more are answered 503 with Retry-After at once.",
    )
    queue_timeout: float = Field(
        1.0,
        gt=0,
        description="Seconds a call may wait for a slot (in arrival order), else 503 with "
        "Retry-After.",
    )


def effective(defaults: Resilience, override: Resilience | None) -> Resilience:
    """The server's defaults with the keys a source sets itself."""
    if override is None:
        return defaults
    return defaults.model_copy(update=override.model_dump(exclude_unset=True))


@contextlib.contextmanager
def deadline_within(seconds: float) -> Iterator[None]:
    """Backend calls made inside answer within `seconds` from now (or by an earlier outer
    deadline): a federated request gives its members one budget."""
    at = asyncio.get_running_loop().time() + seconds
    outer = DEADLINE.get()
    token = DEADLINE.set(at if outer is None else min(outer, at))
    try:
        yield
    finally:
        DEADLINE.reset(token)


class Bulkhead:
    """A semaphore with a fair (FIFO) queue bounded in length and in time: a call that
    finds the queue full is answered 503 at once, a waiter gets its slot within `wait`
    seconds or a 503 then.

    FIFO matters: asyncpg's pool hands connections out last-in first-out, which let a few
    requests wait 10 s at 200 connections while the median waited 30 ms. Shedding before the
    queue is full does not pay: measured at 200 connections that re-send at once, shedding
    when the queue stood (its oldest waiter past half of `wait`) turned fair waiting (1,010
    answers/s, p99 0.56 s, no 503) into a flood of instant 503s that left the admitted
    calls a tenth of the CPU (120 answers/s, p99 1.5 s)."""

    def __init__(self, source: str, limit: int | None, queue: int, wait: float) -> None:
        self.source = source
        self.limit = limit
        self.queue = queue
        self.wait = wait
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def _shed(self, why: str) -> SourceBusy:
        return SourceBusy(self.source, why, retry_after=max(1, math.ceil(self.wait)))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def acquire(self) -> None:
        """A slot, waited for in turn (or SourceBusy); `release` it exactly once. A stream
        holds its slot beyond one call, until it ends."""
        if self.limit is None:
            return
        if self.active < self.limit and not self._waiters:
            self.active += 1
        else:
            await self._queue()

    def release(self) -> None:
        if self.limit is not None:
            self._release()

    async def _queue(self) -> None:
        if len(self._waiters) >= self.queue:
            raise self._shed("too many requests for this source right now; try again shortly")
        turn = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            async with asyncio.timeout(self.wait):
                await turn
        except (TimeoutError, asyncio.CancelledError) as e:
            if turn.done() and not turn.cancelled():
                self._release()  # the slot came just as time ran out: pass it on
            else:
                turn.cancel()
                with contextlib.suppress(ValueError):  # _release may have dropped it
                    self._waiters.remove(turn)
            if isinstance(e, TimeoutError):
                raise self._shed(
                    f"no free slot within {self.wait:g} s; try again shortly"
                ) from None
            raise

    def _release(self) -> None:
        """Hand the slot to the next waiter, or free it."""
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.active -= 1


class SourceGuard:
    def __init__(self, name: str, settings: Resilience, concurrency: int | None = None) -> None:
        self.name = name
        self.timeout = settings.timeout
        self.breaker = Breaker(settings.breaker_failures, settings.breaker_cooldown)
        limit = settings.concurrency or concurrency
        queue = settings.queue if settings.queue is not None else 50 * (limit or 0)
        self.bulkhead = Bulkhead(name, limit, queue, settings.queue_timeout)
        self._orphans: set[asyncio.Task[Any]] = set()

    async def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run one call to the backend under the deadline, the breaker and the bulkhead."""
        if not self.breaker.allow():
            work.close()
            self._observe("rejected", 0.0)
            wait = self.breaker.retry_in()
            raise UpstreamFailed(
                self.name, f"failed repeatedly; not asked again for {wait:.0f} s (circuit open)"
            )
        try:
            async with self.bulkhead.slot():
                return await self._run(work)
        except SourceBusy:
            work.close()
            self.breaker.abandoned()
            self._observe("shed", 0.0)
            raise

    async def side_call(self, work: Coroutine[Any, Any, T]) -> T:
        """A cheap call beside the data calls (a version read for an ETag): it honours an
        open circuit and the deadline, but takes no bulkhead slot and tells the breaker
        nothing. A version read that needs no I/O would otherwise count as the source being
        well between the failures of its data calls, and the circuit would never open."""
        if self.breaker.open:
            raise self._rejected(work)
        at, _ = self.deadline()
        async with asyncio.timeout_at(at):
            return await work

    async def stream(self, opening: Coroutine[Any, Any, S]) -> GuardedStream[S, Any]:
        """Open a stream of records under the guard (gateway/streaming.py): opening it, up
        to its first record, is a call like any other; the bulkhead slot stays held until
        the stream ends; each further record must come within `timeout`; the breaker hears
        the outcome at the end. Close the stream (`aclose`) when done with it."""
        from gateway.streaming import GuardedStream

        if not self.breaker.allow():
            raise self._rejected(opening)
        try:
            await self.bulkhead.acquire()
        except SourceBusy:
            opening.close()
            self.breaker.abandoned()
            self._observe("shed", 0.0)
            raise
        except BaseException:  # cancelled while queued
            opening.close()
            raise
        stream: GuardedStream[S, Any] = GuardedStream(self, opening)
        await stream.open()
        return stream

    def _rejected(self, work: Coroutine[Any, Any, Any]) -> UpstreamFailed:
        """The answer while the circuit is open; the work is never started."""
        work.close()
        self._observe("rejected", 0.0)
        wait = self.breaker.retry_in()
        return UpstreamFailed(
            self.name, f"failed repeatedly; not asked again for {wait:.0f} s (circuit open)"
        )

    def deadline(self) -> tuple[float, bool]:
        """When a call starting now must have answered (loop time), and whether that is the
        source's own deadline (its fault when missed) or an outer, federation's one."""
        own = asyncio.get_running_loop().time() + self.timeout
        outer = DEADLINE.get()
        return (own, True) if outer is None or outer >= own else (outer, False)

    async def _run(self, work: Coroutine[Any, Any, T]) -> T:
        loop = asyncio.get_running_loop()
        started = loop.time()
        own = started + self.timeout
        outer = DEADLINE.get()
        deadline = own if outer is None or outer >= own else outer
        task = asyncio.ensure_future(work)
        try:
            done = await _finished_by(task, deadline)
        except asyncio.CancelledError:  # the client went away
            self._orphan(task)
            self._settle("cancelled", started)
            raise
        if not done:
            self._orphan(task)
            # A federation's budget running out is not the source's fault.
            self._settle("timeout" if deadline == own else "abandoned", started)
            raise UpstreamTimeout(self.name, f"no answer within {deadline - started:.3g} s")
        try:
            result = task.result()
        except BaseException as e:
            raise self._failure(e, started) from e
        self._settle("ok", started)
        return result

    def _failure(self, error: BaseException, started: float) -> BaseException:
        """The answer to give for a failed call; the breaker hears only of the backend's own."""
        if isinstance(error, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
            return error
        outcome, answer = self._classify(error)
        self._settle(outcome, started, error)
        return answer

    def _classify(self, error: BaseException) -> tuple[str, GatewayError]:
        detail = f"{type(error).__name__}: {error}"
        if isinstance(error, UpstreamFailed):
            return "failed", error
        if isinstance(error, GatewayError) and (error.status < 500 or error.status == 501):
            return "client_error", error
        if isinstance(error, SourceRejectedValue):
            return "client_error", InvalidParameter(
                "query",
                f"source '{self.name}' refused a value of this request as invalid "
                "(e.g. a NUL character, or a number or date out of its range)",
            )
        if isinstance(error, SourceRefused):
            why = "refused the request"
            if error.status == 414:
                why = "the request is too long to pass on; shorten it"
            return "client_error", InvalidParameter("query", f"source '{self.name}': {why}")
        if isinstance(error, SourceStatementTimeout):
            message = (
                "the source gave up on this query as too costly; narrow it "
                "(bbox, filters, a smaller limit)"
            )
            return "too_costly", UpstreamTimeout(self.name, message, detail)
        if isinstance(error, SourceAnswerTooLarge):
            return "too_large", UpstreamFailed(
                self.name, "the source's answer was too large", detail
            )
        if isinstance(error, SourceTimeout | TimeoutError):
            return "timeout", UpstreamTimeout(
                self.name, "the source did not answer in time", detail
            )
        answer = getattr(error, "answer", None)
        said = f"; it answered: {answer}" if answer else ""
        return "failed", UpstreamFailed(self.name, f"the source failed to answer{said}", detail)

    def _settle(self, outcome: str, started: float, error: BaseException | None = None) -> None:
        if outcome in ("failed", "timeout"):
            self.breaker.failed()
        elif outcome == "ok":
            self.breaker.succeeded()
        else:
            self.breaker.abandoned()
        seconds = asyncio.get_running_loop().time() - started
        self._observe(outcome, seconds)
        if outcome not in ("ok", "client_error", "cancelled"):
            detail = getattr(error, "detail", None) or (
                f"{type(error).__name__}: {error}" if error is not None else "-"
            )
            # A failure the connector did not name may be a bug of ours: keep its traceback.
            named = error is None or isinstance(error, _NAMED_FAILURES)
            log.warning(
                "request_id=%s source=%s outcome=%s ms=%.0f detail=%s",
                REQUEST_ID.get(),
                self.name,
                outcome,
                seconds * 1000,
                detail,
                exc_info=None if named else error,
            )

    def _observe(self, outcome: str, seconds: float) -> None:
        metrics.observe_source(self.name, outcome, seconds)
        metrics.observe_circuit(self.name, self.breaker.open)

    def _orphan(self, task: asyncio.Task[Any]) -> None:
        """Cancel a call nobody waits for any more and let it clean up in the background."""
        task.cancel()
        self._orphans.add(task)
        task.add_done_callback(self._reap)

    def _reap(self, task: asyncio.Task[Any]) -> None:
        self._orphans.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("source=%s abandoned call ended with %r", self.name, task.exception())


async def _finished_by(task: asyncio.Task[Any], deadline: float) -> bool:
    """Wait for `task` until `deadline` (loop time) without cancelling it: whether it
    finished. What `asyncio.wait((task,), timeout=…)` does for one task, without its sets
    and their bookkeeping: 3 % of the instructions of a request for one item."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(_: Any = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = loop.call_at(deadline, wake)
    task.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


__all__ = ["Bulkhead", "Resilience", "SourceGuard", "deadline_within", "effective"]
