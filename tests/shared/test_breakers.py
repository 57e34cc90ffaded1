"""Circuit breakers shared through Redis: a failure streak counted across workers, a
circuit opened by one seen open by all at their next refresh, closed by a trial call that
succeeded anywhere; a healthy source never writes to Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from gateway.breaker import Breaker
from gateway.shared.breakers import SharedBreakers
from gateway.shared.settings import SharedStateSettings
from gateway.shared.state import SharedState
from tests.shared.conftest import REDIS_URL

pytestmark = pytest.mark.anyio
SOURCE = "a/trees"


class Worker:
    def __init__(self, state: SharedState) -> None:
        self.state = state
        self.shared = SharedBreakers(state)
        self.breaker = Breaker(failures=2, cooldown=30)
        self.shared.attach(SOURCE, self.breaker)

    async def settle(self) -> None:
        """Let the background writes land, then refresh as the sync loop would."""
        for _ in range(50):
            if not self.state._tasks:
                break
            await asyncio.sleep(0.01)
        redis_client = self.state.client()
        assert redis_client is not None
        await self.shared.sync(redis_client)


@pytest.fixture
async def two(redis_prefix: str) -> AsyncIterator[tuple[Worker, Worker]]:
    settings = SharedStateSettings(
        redis_url=REDIS_URL, key_prefix=redis_prefix, breaker_sync=10
    )  # refreshed by hand
    states = [SharedState(settings), SharedState(settings)]
    for s in states:
        await s.start()
    yield Worker(states[0]), Worker(states[1])
    for s in states:
        await s.stop()


async def test_failures_on_two_workers_add_up_and_open_the_circuit_for_both(two: Any) -> None:
    a, b = two
    a.breaker.failed()
    await a.settle()
    b.breaker.failed()  # the second of the streak, on another worker
    await b.settle()
    assert b.breaker.open
    await a.settle()
    assert a.breaker.open and not a.breaker.allow()
    assert 29 < a.breaker.retry_in() - a.shared.hold <= 30  # held past Redis's cooldown


async def test_a_trial_that_succeeds_anywhere_closes_the_circuit_everywhere(
    two: Any, redis_prefix: str, redis_client: redis.Redis
) -> None:
    a, b = two
    for _ in range(2):
        a.breaker.failed()
    await a.settle()
    await b.settle()
    assert a.breaker.open and b.breaker.open
    redis_client.delete(f"{redis_prefix}breaker:{SOURCE}:open")  # the cooldown ran out
    a.breaker.adopt(0)
    assert a.breaker.allow()  # the trial call
    a.breaker.succeeded()
    await a.settle()
    await b.settle()
    assert not b.breaker.open and b.breaker.allow()


async def test_a_healthy_source_never_writes_to_redis(
    two: Any, redis_prefix: str, redis_client: redis.Redis
) -> None:
    a, _ = two
    for _ in range(100):
        assert a.breaker.allow()
        a.breaker.succeeded()
    await a.settle()
    assert not list(redis_client.scan_iter(f"{redis_prefix}breaker:*"))


async def _open_everywhere(a: Worker, b: Worker) -> None:
    for _ in range(2):
        a.breaker.failed()
    await a.settle()
    await b.settle()
    assert a.breaker.open and b.breaker.open


async def test_after_the_cooldown_the_cluster_makes_one_trial_call_not_one_per_worker(
    two: Any, redis_prefix: str, redis_client: redis.Redis
) -> None:
    a, b = two
    await _open_everywhere(a, b)
    # Redis's cooldown runs out first; each local circuit holds a little longer.
    assert a.breaker.retry_in() > 30 + a.shared.hold - 0.5
    assert b.breaker.retry_in() > 30 + b.shared.hold - 0.5
    redis_client.delete(f"{redis_prefix}breaker:{SOURCE}:open")
    await a.settle()
    await b.settle()
    allowed = [w.breaker.allow() for w in (a, b)]
    assert allowed == [True, False]  # a claimed the trial first
    await a.settle()  # a's pending trial keeps its claim
    await b.settle()
    assert not b.breaker.allow()
    a.breaker.succeeded()
    await a.settle()
    await b.settle()
    assert not b.breaker.open and b.breaker.allow()
    assert not list(redis_client.scan_iter(f"{redis_prefix}breaker:*"))


async def test_a_failed_trial_opens_the_circuit_again_for_every_worker(
    two: Any, redis_prefix: str, redis_client: redis.Redis
) -> None:
    a, b = two
    await _open_everywhere(a, b)
    redis_client.delete(f"{redis_prefix}breaker:{SOURCE}:open")
    await b.settle()
    await a.settle()
    assert b.breaker.allow() and not a.breaker.allow()
    b.breaker.failed()
    await b.settle()
    await a.settle()
    assert a.breaker.retry_in() > 29 and b.breaker.retry_in() > 29
    assert not a.breaker.allow() and not b.breaker.allow()


async def test_a_claim_its_holder_does_not_renew_passes_to_another_worker(
    two: Any, redis_prefix: str, redis_client: redis.Redis
) -> None:
    a, b = two
    await _open_everywhere(a, b)
    redis_client.delete(f"{redis_prefix}breaker:{SOURCE}:open")
    await a.settle()
    await b.settle()
    assert not b.breaker.allow()
    redis_client.delete(f"{redis_prefix}breaker:{SOURCE}:trial")  # a died; its claim expired
    b.breaker.adopt(0)  # b's hold ran out too
    await b.settle()
    assert b.breaker.allow()
