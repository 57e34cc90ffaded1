"""The rate-limit counters in the real Redis: the Lua script counts only allowed requests,
says which limit refused, slides across windows as the in-process counters do, and falls
back to them when Redis is unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from gateway.ratelimit.counters import Counters
from gateway.ratelimit.windows import LocalWindows
from gateway.shared.settings import SharedStateSettings
from gateway.shared.state import SharedState
from tests.shared.conftest import REDIS_URL, closed_port_url

pytestmark = pytest.mark.anyio
T0 = 1_800_000_000.0  # a window boundary for 60 s windows


@pytest.fixture
async def state(redis_prefix: str) -> AsyncIterator[SharedState]:
    s = SharedState(SharedStateSettings(redis_url=REDIS_URL, key_prefix=redis_prefix))
    await s.start()
    yield s
    await s.stop()


async def test_the_refusing_limit_is_named_and_the_others_are_not_charged(
    state: SharedState, redis_prefix: str, redis_client: redis.Redis
) -> None:
    counters = Counters(state)
    limits = [("client:a:ip:1", 10, 60.0), ("tenant:a", 2, 60.0)]
    assert (await counters.hit(limits, T0)).allowed
    assert (await counters.hit(limits, T0 + 1)).allowed
    refused = await counters.hit(limits, T0 + 2)
    assert not refused.allowed and refused.which == 1 and refused.retry_after >= 1
    number = int(T0 // 60)
    assert redis_client.get(f"{redis_prefix}rate:client:a:ip:1:{number}") == b"2"
    assert 60_000 < redis_client.pttl(f"{redis_prefix}rate:tenant:a:{number}") <= 120_000


async def test_redis_and_in_process_counters_agree_across_windows(state: SharedState) -> None:
    counters, local = Counters(state), LocalWindows()
    limits = [("client:-:ip:2", 5, 60.0)]
    times = [T0 + t for t in (0, 10, 20, 30, 40, 50, 61, 65, 90, 100, 110, 119, 125, 190)]
    shared = [(await counters.hit(limits, t)).allowed for t in times]
    assert shared == [local.hit(limits, t).allowed for t in times]
    assert shared.count(False) >= 3 and shared[-1]


async def test_an_unreachable_redis_counts_in_process() -> None:
    s = SharedState(SharedStateSettings(redis_url=closed_port_url(), key_prefix="tbtest:x:"))
    await s.start()
    try:
        counters = Counters(s)
        limits = [("client:-:ip:3", 1, 60.0)]
        assert (await counters.hit(limits, T0)).allowed
        assert not (await counters.hit(limits, T0 + 1)).allowed  # held, in this worker
    finally:
        await s.stop()
