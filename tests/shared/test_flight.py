"""Single flight of upstream metadata across workers: one upstream call for a burst of
misses on several workers, its result taken by the others; a failed or absent Redis only
costs extra calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis

from connectors.base import Description, FieldInfo
from connectors.errors import SourceError
from connectors.remote.metacache import MetadataCache
from gateway.shared.flight import SharedFlight, scope_of
from gateway.shared.settings import SharedStateSettings
from gateway.shared.state import SharedState
from tests.shared.conftest import REDIS_URL, closed_port_url

pytestmark = pytest.mark.anyio
VALUE = Description(fields=(FieldInfo("art", "string"),), bbox=(9.0, 53.0, 10.0, 54.0))


@pytest.fixture
async def workers(redis_prefix: str) -> AsyncIterator[Callable[[], Any]]:
    """Makes 'workers': each its own Redis connection and metadata cache of one source."""
    states: list[SharedState] = []

    async def worker(url: str = REDIS_URL) -> MetadataCache:
        state = SharedState(SharedStateSettings(redis_url=url, key_prefix=redis_prefix))
        await state.start()
        states.append(state)
        cache = MetadataCache(ttl=60)
        cache.shared = SharedFlight(state, wait=2.0).scoped(scope_of("a/trees", "{}"))
        return cache

    yield worker
    for state in states:
        await state.stop()


class Upstream:
    def __init__(self, seconds: float = 0.2, fail: bool = False) -> None:
        self.calls = 0
        self.seconds = seconds
        self.fail = fail
        self.started = asyncio.Event()

    async def load(self) -> Description:
        self.calls += 1
        self.started.set()
        await asyncio.sleep(self.seconds)
        if self.fail:
            raise SourceError("upstream down")
        return VALUE


async def test_a_burst_of_misses_on_several_workers_makes_one_upstream_call(
    workers: Any,
) -> None:
    caches = [await workers() for _ in range(3)]
    upstream = Upstream()
    found = await asyncio.gather(
        *(c.get("describe", upstream.load, shared_as=Description) for c in caches)
    )
    assert upstream.calls == 1
    assert found == [VALUE, VALUE, VALUE]
    late = await workers()  # a worker that starts later takes the stored value
    assert await late.get("describe", upstream.load, shared_as=Description) == VALUE
    assert upstream.calls == 1


async def test_when_the_loading_worker_fails_the_others_ask_the_upstream_themselves(
    workers: Any,
) -> None:
    first, second = await workers(), await workers()
    failing, working = Upstream(seconds=0.5, fail=True), Upstream()
    loading = asyncio.ensure_future(first.get("describe", failing.load, shared_as=Description))
    await failing.started.wait()  # the first worker holds the lock
    assert await second.get("describe", working.load, shared_as=Description) == VALUE
    with pytest.raises(SourceError):
        await loading
    assert (failing.calls, working.calls) == (1, 1)


async def test_a_stored_value_that_does_not_validate_is_loaded_again(
    workers: Any, redis_prefix: str, redis_client: redis.Redis
) -> None:
    cache = await workers()
    upstream = Upstream(seconds=0)
    await cache.get("describe", upstream.load, shared_as=Description)
    for key in redis_client.scan_iter(f"{redis_prefix}meta:*"):
        redis_client.set(key, b'{"fields": "not a list"}')
    other = await workers()
    assert await other.get("describe", upstream.load, shared_as=Description) == VALUE
    assert upstream.calls == 2


async def test_without_a_type_or_without_redis_each_worker_loads_itself(workers: Any) -> None:
    upstream = Upstream(seconds=0.05)
    caches = [await workers(), await workers()]
    await asyncio.gather(*(c.get("describe", upstream.load) for c in caches))
    assert upstream.calls == 2
    offline = [await workers(closed_port_url()) for _ in range(2)]
    await asyncio.gather(*(c.get("x", upstream.load, shared_as=Description) for c in offline))
    assert upstream.calls == 4
