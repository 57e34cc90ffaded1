"""Two gateway instances sharing one real Redis behave as one: a cached answer, an open
circuit and a rate limit made through one hold in the other."""

from __future__ import annotations

import time
from typing import Any

import redis

from tests.shared.conftest import REDIS_URL, instance, shared

ITEMS = "/a/collections/trees/items"


def wait_for(check: Any, seconds: float = 3.0) -> Any:
    until = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > until:
            return found
        time.sleep(0.05)


def test_an_answer_cached_by_one_instance_is_served_by_the_other(
    configure: Any, redis_prefix: str, redis_client: redis.Redis
) -> None:
    config = configure({"shared_state": shared(REDIS_URL, redis_prefix)})
    with instance(config) as one, instance(config) as two:
        first = one.get(f"{ITEMS}?limit=2")
        assert first.status_code == 200 and first.headers["x-cache"] == "miss"
        assert list(redis_client.scan_iter(f"{redis_prefix}response:*"))
        second = two.get(f"{ITEMS}?limit=2")
        assert second.headers["x-cache"] == "hit"
        assert second.content == first.content
        assert second.headers["etag"] == first.headers["etag"]
        # each cached answer expires: nothing is kept in Redis for ever
        for key in redis_client.scan_iter(f"{redis_prefix}response:*"):
            assert 0 < redis_client.pttl(key) <= 3600_000


def test_a_circuit_opened_through_one_instance_is_open_in_the_other(
    configure: Any, redis_prefix: str
) -> None:
    config = configure(
        {
            "shared_state": shared(REDIS_URL, redis_prefix),
            "resilience": {"breaker_failures": 2, "breaker_cooldown": 30},
            "http_cache": {"response_cache": {"max_bytes": 0}},
        }
    )
    with instance(config) as one, instance(config) as two:
        calls = {"two": 0}

        def unreadable() -> Any:
            raise OSError(5, "Input/output error")

        source_one = next(s for s in one.app.state.catalog.sources() if s.name == "a/trees")
        source_two = next(s for s in two.app.state.catalog.sources() if s.name == "a/trees")
        source_one.connector.version = unreadable
        original = source_two.connector.version

        def counted() -> Any:
            calls["two"] += 1
            return original()

        source_two.connector.version = counted
        assert two.get(ITEMS).status_code == 200
        asked = calls["two"]
        assert asked >= 1
        assert one.get(ITEMS).status_code == 502
        assert one.get(ITEMS).status_code == 502
        assert "circuit open" in one.get(ITEMS).json()["description"]

        ready = wait_for(lambda: two.get("/ready").json()["open_circuits"])
        assert ready == ["a/trees"]
        answer = two.get(ITEMS)
        assert answer.status_code == 502 and "circuit open" in answer.json()["description"]
        assert calls["two"] == asked  # the other instance did not ask the broken source
        assert two.get("/ready").json()["status"] == "degraded"


def test_rate_limits_hold_across_instances(configure: Any, redis_prefix: str) -> None:
    config = configure(
        {
            "shared_state": shared(REDIS_URL, redis_prefix),
            "rate_limits": {"per_client": "4/minute", "per_tenant": "100/minute"},
        }
    )
    with instance(config) as one, instance(config) as two:
        assert [one.get(ITEMS).status_code for _ in range(2)] == [200, 200]
        assert [two.get(ITEMS).status_code for _ in range(2)] == [200, 200]
        refused = one.get(ITEMS)
        assert refused.status_code == 429
        assert two.get(ITEMS).status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 120
        assert refused.json()["code"] == "TooManyRequests"
        assert two.get("/health").status_code == 200  # never limited
        # another tenant's API is another client budget
        assert two.get("/b/collections/trees/items").status_code == 200
