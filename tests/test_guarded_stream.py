"""A stream under its source's guard: opening it is a call like any other, the slot is held
until it ends, each further record must come within the source's timeout (a slow consumer
is not the source's fault), the breaker hears the outcome at the end, and a consumer that
stops early frees the slot at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.errors import SourceError
from gateway.errors import InvalidParameter, SourceBusy, UpstreamFailed, UpstreamTimeout
from gateway.resilience import Resilience, SourceGuard, deadline_within
from gateway.streaming import BATCH

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def guard(**settings: Any) -> SourceGuard:
    return SourceGuard("city/trees", Resilience(**settings))


class Source:
    """An async iterable of numbers with a pause before the record `stall_at` (and an error
    instead of it, when given); notes when it was closed."""

    def __init__(
        self,
        count: int,
        every: float = 0.0,
        stall_at: int | None = None,
        stall: float = 60.0,
        error: Exception | None = None,
        slow_close: float = 0.0,
    ) -> None:
        self.count, self.every, self.stall_at, self.stall = count, every, stall_at, stall
        self.error, self.slow_close = error, slow_close
        self.closed = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[int]:
        try:
            for n in range(self.count):
                if n == self.stall_at:
                    if self.error is not None:
                        raise self.error
                    await asyncio.sleep(self.stall)
                elif self.every:
                    await asyncio.sleep(self.every)
                yield n
        finally:
            if self.slow_close:
                await asyncio.sleep(self.slow_close)
            self.closed.set()


async def opened(source: Source, delay: float = 0.0) -> Source:
    await asyncio.sleep(delay)
    return source


async def read_all(stream: Any, pause: float = 0.0) -> list[int]:
    out: list[int] = []
    while (batch := await stream.next_batch()) is not None:
        out += batch
        if pause:
            await asyncio.sleep(pause)
    return out


async def test_records_pass_in_order_and_the_slot_is_held_until_the_end() -> None:
    g = guard(concurrency=1, timeout=1)
    source = Source(1000)
    stream = await g.stream(opened(source))
    assert stream.source is source
    assert g.bulkhead.active == 1
    got = await read_all(stream)
    assert got == list(range(1000))
    assert g.bulkhead.active == 0 and not g.breaker._failures
    assert source.closed.is_set()


async def test_the_first_record_ends_the_opening_the_rest_comes_in_batches() -> None:
    g = guard(timeout=1)
    stream = await g.stream(opened(Source(3 * BATCH)))
    sizes = []
    while (batch := await stream.next_batch()) is not None:
        sizes.append(len(batch))
    assert sizes[0] == 1 and max(sizes) == BATCH and sum(sizes) == 3 * BATCH


async def test_opening_has_the_deadline_of_a_call_and_counts_against_the_source() -> None:
    g = guard(concurrency=1, timeout=0.1, breaker_failures=1)
    started = time.perf_counter()
    with pytest.raises(UpstreamTimeout, match="no answer within 0.1 s"):
        await g.stream(opened(Source(5), delay=10))
    assert time.perf_counter() - started < 0.2
    assert g.breaker.open and g.bulkhead.active == 0


async def test_a_federations_deadline_at_opening_is_not_the_sources_fault() -> None:
    g = guard(timeout=5, breaker_failures=1)
    with deadline_within(0.05), pytest.raises(UpstreamTimeout):
        await g.stream(opened(Source(5, stall_at=0)))
    assert not g.breaker.open


async def test_a_client_error_at_opening_is_a_400_and_not_counted() -> None:
    async def refused() -> Source:
        raise InvalidParameter("cursor", "no longer valid")

    g = guard(concurrency=1, breaker_failures=1)
    with pytest.raises(InvalidParameter):
        await g.stream(refused())
    assert not g.breaker.open and g.bulkhead.active == 0


async def test_a_source_that_stops_sending_mid_stream_times_out_and_counts() -> None:
    g = guard(concurrency=1, timeout=0.2, breaker_failures=1)
    source = Source(1000, stall_at=600)
    stream = await g.stream(opened(source))
    got: list[int] = []
    started = None
    with pytest.raises(UpstreamTimeout, match="mid-stream"):
        while (batch := await stream.next_batch()) is not None:
            got += batch
            started = time.perf_counter()
    assert started is not None and time.perf_counter() - started < 0.35
    assert got == list(range(len(got))) and len(got) > 600 - BATCH  # a partial batch is lost
    assert g.breaker.open and g.bulkhead.active == 0
    await asyncio.wait_for(source.closed.wait(), 1)  # the reader was cancelled


async def test_a_slow_consumer_or_a_slow_steady_source_is_no_timeout() -> None:
    g = guard(timeout=0.15)
    stream = await g.stream(opened(Source(3 * BATCH)))
    assert await read_all(stream, pause=0.3) == list(range(3 * BATCH))
    steady = await g.stream(opened(Source(8, every=0.05)))  # 0.4 s in all, 0.05 s each
    assert await read_all(steady) == list(range(8))
    assert not g.breaker._failures


async def test_a_failure_mid_stream_is_answered_as_the_guard_answers_calls() -> None:
    g = guard(breaker_failures=1)
    stream = await g.stream(opened(Source(500, stall_at=300, error=SourceError("10.0.0.7 gone"))))
    with pytest.raises(UpstreamFailed) as raised:
        await read_all(stream)
    assert raised.value.status == 502 and "10.0.0.7" not in raised.value.description
    assert g.breaker.open


async def test_closing_early_frees_the_slot_at_once_even_if_the_source_unwinds_slowly() -> None:
    g = guard(concurrency=1, queue=0, timeout=1, breaker_failures=1)
    source = Source(10_000, every=0.001, slow_close=0.5)
    stream = await g.stream(opened(source))
    await stream.next_batch()
    started = time.perf_counter()
    await stream.aclose()
    assert time.perf_counter() - started < 0.01
    assert g.bulkhead.active == 0 and not g.breaker._failures
    again = await g.stream(opened(Source(3)))  # the slot is free for the next request
    assert await read_all(again) == [0, 1, 2]
    await asyncio.wait_for(source.closed.wait(), 2)


async def test_a_second_stream_waits_for_the_slot_and_is_shed_when_it_does_not_come() -> None:
    g = guard(concurrency=1, queue=1, queue_timeout=0.05)
    first = await g.stream(opened(Source(10)))
    with pytest.raises(SourceBusy):
        await g.stream(opened(Source(10)))
    waiting = asyncio.create_task(g.stream(opened(Source(2))))
    await asyncio.sleep(0.01)
    assert await read_all(first) == list(range(10))
    assert await read_all(await waiting) == [0, 1]
    assert g.bulkhead.active == 0


async def test_an_open_circuit_opens_no_stream() -> None:
    g = guard(breaker_failures=1, breaker_cooldown=30)
    with pytest.raises(UpstreamFailed):
        await g.stream(opened(Source(5, stall_at=0, error=SourceError("down"))))
    source = Source(5)
    with pytest.raises(UpstreamFailed, match="circuit open"):
        await g.stream(opened(source))
    assert not source.closed.is_set()
