"""The metadata cache: one upstream call per burst, stale values served while refreshing."""

from __future__ import annotations

import asyncio

import pytest

from connectors.remote.metacache import MetadataCache


class Upstream:
    def __init__(self, delay: float = 0.05) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = False

    async def load(self) -> int:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("upstream down")
        return self.calls


def test_a_burst_of_misses_makes_one_upstream_call() -> None:
    async def main() -> None:
        cache, upstream = MetadataCache(), Upstream()
        values = await asyncio.gather(*(cache.get("caps", upstream.load) for _ in range(50)))
        assert values == [1] * 50
        assert upstream.calls == 1
        assert await cache.get("caps", upstream.load) == 1
        assert upstream.calls == 1

    asyncio.run(main())


def test_keys_are_loaded_separately() -> None:
    async def main() -> None:
        cache, a, b = MetadataCache(), Upstream(), Upstream()
        await asyncio.gather(cache.get("a", a.load), cache.get("b", b.load))
        assert (a.calls, b.calls) == (1, 1)

    asyncio.run(main())


def test_an_expired_value_is_served_at_once_while_one_refresh_runs() -> None:
    async def main() -> None:
        cache, upstream = MetadataCache(ttl=0.01), Upstream(delay=0.2)
        assert await cache.get("caps", upstream.load) == 1
        await asyncio.sleep(0.02)
        started = asyncio.get_running_loop().time()
        values = [await cache.get("caps", upstream.load) for _ in range(10)]
        assert asyncio.get_running_loop().time() - started < 0.1
        assert values == [1] * 10
        await asyncio.sleep(0.3)
        assert upstream.calls == 2
        assert await cache.get("caps", upstream.load) == 2

    asyncio.run(main())


def test_a_failed_load_is_not_cached() -> None:
    async def main() -> None:
        cache, upstream = MetadataCache(), Upstream(delay=0)
        upstream.fail = True
        with pytest.raises(RuntimeError):
            await cache.get("caps", upstream.load)
        upstream.fail = False
        assert await cache.get("caps", upstream.load) == 2

    asyncio.run(main())


def test_a_failed_refresh_keeps_the_stale_value_until_it_runs_out() -> None:
    async def main() -> None:
        cache, upstream = MetadataCache(ttl=0.01, stale=0.2), Upstream(delay=0)
        assert await cache.get("caps", upstream.load) == 1
        upstream.fail = True
        await asyncio.sleep(0.02)
        assert await cache.get("caps", upstream.load) == 1  # refresh fails in the background
        await asyncio.sleep(0.01)
        assert await cache.get("caps", upstream.load) == 1
        await asyncio.sleep(0.25)
        with pytest.raises(RuntimeError):
            await cache.get("caps", upstream.load)

    asyncio.run(main())


def test_a_cancelled_waiter_does_not_cancel_the_load_for_the_others() -> None:
    async def main() -> None:
        cache, upstream = MetadataCache(), Upstream(delay=0.1)
        impatient = asyncio.ensure_future(cache.get("caps", upstream.load))
        patient = asyncio.ensure_future(cache.get("caps", upstream.load))
        await asyncio.sleep(0.01)
        impatient.cancel()
        assert await patient == 1
        assert upstream.calls == 1

    asyncio.run(main())


def test_the_least_recently_loaded_entries_leave_first() -> None:
    async def main() -> None:
        cache, upstream = MetadataCache(maxsize=2), Upstream(delay=0)
        for key in ("a", "b", "c"):
            await cache.get(key, upstream.load)
        assert await cache.get("b", upstream.load) == 2
        assert await cache.get("a", upstream.load) == 4  # evicted, loaded again
        cache.invalidate("a")
        assert await cache.get("a", upstream.load) == 5
        cache.invalidate()
        assert await cache.get("c", upstream.load) == 6

    asyncio.run(main())
