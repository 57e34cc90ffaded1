"""A Redis outage, for real: Redis never there (a closed port), Redis vanishing mid-run (a
TCP proxy killed) and Redis hanging (the proxy stalled). Clients never see an error; the
gateway falls back to in-process state, says so on /ready, and shares again once Redis is
back."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import redis

from tests.shared.conftest import closed_port_url, instance, shared
from tests.shared.proxy import TcpProxy
from tests.shared.test_two_instances import ITEMS, wait_for

FAST = {"socket_timeout": 0.25, "reconnect_max": 0.5}


def test_redis_never_reachable_degrades_to_in_process_state(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    config = configure(
        {
            "shared_state": shared(
                closed_port_url().replace("//", "//:s3cret-pw@"), "tbtest:closed:", **FAST
            ),
            "rate_limits": {"per_client": "3/minute"},
        }
    )
    caplog.set_level(logging.WARNING, "twinbridge.shared")
    with instance(config) as client:
        ready = client.get("/ready").json()
        assert ready["status"] == "degraded"
        assert ready["shared_state"]["backend"] == "redis"
        assert ready["shared_state"]["status"] == "unavailable"
        assert "127.0.0.1" not in str(ready) and "s3cret" not in str(ready)
        first, second = client.get(ITEMS), client.get(ITEMS)
        assert (first.status_code, second.status_code) == (200, 200)
        assert second.headers["x-cache"] == "hit"  # the in-process cache stands in
        # limits still hold, per worker: a 429, never a 500
        assert [client.get(ITEMS).status_code for _ in range(2)] == [200, 429]
    assert any("Redis not reachable" in r.getMessage() for r in caplog.records)
    assert "s3cret-pw" not in caplog.text  # the URL's password is never logged


def test_redis_vanishing_mid_run_falls_back_and_comes_back(
    configure: Any, proxy: TcpProxy, redis_prefix: str, redis_client: redis.Redis
) -> None:
    config = configure(
        {
            "shared_state": shared(proxy.url, redis_prefix, **FAST),
            "rate_limits": {"per_client": "1000/minute"},
        }
    )
    with instance(config) as client:
        assert client.get("/ready").json()["shared_state"]["status"] == "ok"
        assert client.get(ITEMS).status_code == 200
        assert list(redis_client.scan_iter(f"{redis_prefix}rate:*"))

        proxy.kill()
        answers = [client.get(f"{ITEMS}?limit={n}") for n in (1, 1, 2)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[1].headers["x-cache"] == "hit"  # kept in process meanwhile
        ready = client.get("/ready").json()
        assert ready["status"] == "degraded"
        assert ready["shared_state"]["status"] == "unavailable"
        assert ready["shared_state"]["error"]

        proxy.start()  # Redis is back on the same address
        assert wait_for(lambda: client.get("/ready").json()["status"] == "ready", 5)
        redis_client.delete(*redis_client.scan_iter(f"{redis_prefix}response:*"))
        assert client.get(f"{ITEMS}?limit=3").status_code == 200
        assert list(redis_client.scan_iter(f"{redis_prefix}response:*"))  # shared again


def test_a_hanging_redis_costs_a_request_at_most_the_socket_timeout(
    configure: Any, proxy: TcpProxy, redis_prefix: str
) -> None:
    config = configure(
        {
            "shared_state": shared(proxy.url, redis_prefix, **FAST),
            "rate_limits": {"per_client": "1000/minute"},
        }
    )
    with instance(config) as client:
        assert client.get(ITEMS).status_code == 200
        proxy.stalled.set()
        started = time.monotonic()
        assert client.get(f"{ITEMS}?limit=1").status_code == 200
        # the first command waits its timeout (0.25 s), then all go in process at once:
        # asking Redis on each request would cost 5 × 2 timeouts (rate limit and cache)
        assert time.monotonic() - started < 2.0
        started = time.monotonic()
        assert [client.get(ITEMS).status_code for _ in range(5)] == [200] * 5
        assert time.monotonic() - started < 2.0
        assert client.get("/ready").json()["shared_state"]["status"] == "unavailable"
        proxy.stalled.clear()
        assert wait_for(lambda: client.get("/ready").json()["status"] == "ready", 5)
