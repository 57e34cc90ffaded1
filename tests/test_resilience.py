"""The source guard: deadlines that hold, a breaker that hears only the backend's own
failures, and a bulkhead that sheds instead of queueing without end."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from connectors.errors import (
    SourceAnswerTooLarge,
    SourceError,
    SourceRejectedValue,
    SourceStatementTimeout,
    SourceTimeout,
)
from gateway.errors import InvalidParameter, SourceBusy, UpstreamFailed, UpstreamTimeout
from gateway.resilience import Resilience, SourceGuard, deadline_within, effective

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def guard(**settings: Any) -> SourceGuard:
    return SourceGuard("city/trees", Resilience(**settings))


async def fail_with(error: BaseException) -> None:
    raise error


async def test_the_deadline_holds_even_when_the_work_cleans_up_slowly() -> None:
    """A driver that takes long to unwind after cancellation (asyncpg sending a cancel
    request through a slow network) must not stretch the answer."""
    unwound = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.5)
            unwound.set()
            raise

    g = guard(timeout=0.1)
    started = time.perf_counter()
    with pytest.raises(UpstreamTimeout, match="no answer within 0.1 s"):
        await g.call(stubborn())
    assert time.perf_counter() - started < 0.15
    assert g.breaker._failures == 1 and len(g._orphans) == 1
    await asyncio.wait_for(unwound.wait(), 2)
    await asyncio.sleep(0)
    assert not g._orphans


@pytest.mark.parametrize(
    ("error", "answer", "status", "counted"),
    [
        (SourceRejectedValue("PostgreSQL: invalid byte 0x00"), InvalidParameter, 400, False),
        (InvalidParameter("filter", "bad"), InvalidParameter, 400, False),
        (SourceStatementTimeout("cancelled after 5 s"), UpstreamTimeout, 504, False),
        (SourceAnswerTooLarge("65 MB"), UpstreamFailed, 502, False),
        (SourceTimeout("read timeout"), UpstreamTimeout, 504, True),
        (SourceError("connection refused by 10.0.0.7:5432"), UpstreamFailed, 502, True),
        (KeyError("geometry"), UpstreamFailed, 502, True),
    ],
)
async def test_only_the_backends_own_failures_count_against_it(
    error: Exception, answer: type, status: int, counted: bool
) -> None:
    g = guard(breaker_failures=1)
    with pytest.raises(answer) as raised:
        await g.call(fail_with(error))
    assert raised.value.status == status
    assert g.breaker.open is counted
    # what the client reads names the source, never the driver's text
    assert "10.0.0.7" not in raised.value.description
    assert "0x00" not in raised.value.description


async def test_a_federations_deadline_running_out_is_not_the_sources_fault() -> None:
    g = guard(timeout=5, breaker_failures=1)
    with deadline_within(0.05), pytest.raises(UpstreamTimeout):
        await g.call(asyncio.sleep(1))
    assert not g.breaker.open


async def test_an_open_circuit_answers_at_once_without_calling() -> None:
    g = guard(breaker_failures=2, breaker_cooldown=30)
    for _ in range(2):
        with pytest.raises(UpstreamFailed):
            await g.call(fail_with(SourceError("down")))
    called = []

    async def work() -> None:
        called.append(1)

    with pytest.raises(UpstreamFailed, match="circuit open"):
        await g.call(work())
    assert not called


async def test_side_calls_tell_the_breaker_nothing_and_honour_an_open_circuit() -> None:
    """A version read between failing data calls (every request reads one for its ETag)
    must not count as the source being well."""
    g = guard(breaker_failures=2, breaker_cooldown=30, timeout=0.2)

    async def version() -> str:
        return "v1"

    for _ in range(2):
        assert await g.side_call(version()) == "v1"
        with pytest.raises(UpstreamFailed):
            await g.call(fail_with(SourceError("down")))
    assert g.breaker.open
    with pytest.raises(UpstreamFailed, match="circuit open"):
        await g.side_call(version())
    with pytest.raises(TimeoutError):  # the deadline holds for side calls too
        await guard(timeout=0.2).side_call(asyncio.sleep(5))


async def test_the_bulkhead_queues_a_few_and_sheds_the_rest_at_once() -> None:
    g = guard(concurrency=2, queue=1, queue_timeout=1.0)
    release = asyncio.Event()

    async def busy() -> str:
        await release.wait()
        return "done"

    running = [asyncio.create_task(g.call(busy())) for _ in range(3)]  # 2 run, 1 waits
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    with pytest.raises(SourceBusy) as shed:
        await g.call(busy())
    assert time.perf_counter() - started < 0.01
    assert shed.value.status == 503 and shed.value.headers() == {"Retry-After": "1"}
    release.set()
    assert await asyncio.gather(*running) == ["done"] * 3
    assert g.bulkhead.active == 0 and not g.breaker._failures


async def test_a_waiter_gives_up_after_queue_timeout_and_the_slot_passes_on() -> None:
    g = guard(concurrency=1, queue=5, queue_timeout=0.05)
    release = asyncio.Event()

    async def busy() -> str:
        await release.wait()
        return "done"

    first = asyncio.create_task(g.call(busy()))
    await asyncio.sleep(0)
    started = time.perf_counter()
    with pytest.raises(SourceBusy, match="no free slot within 0.05 s"):
        await g.call(busy())
    assert 0.04 < time.perf_counter() - started < 0.3  # generous: a machine busy with other tests
    waiting = asyncio.create_task(g.call(busy()))
    await asyncio.sleep(0)
    release.set()
    assert await first == await waiting == "done"
    assert g.bulkhead.active == 0


async def test_a_source_overrides_only_the_keys_it_sets() -> None:
    defaults = Resilience(timeout=10, breaker_failures=5, queue_timeout=0.5)
    mine = effective(defaults, Resilience.model_validate({"timeout": 2}))
    assert (mine.timeout, mine.breaker_failures, mine.queue_timeout) == (2, 5, 0.5)
    assert effective(defaults, None) is defaults
