"""The scale-out cluster, once per test module: two instances of two workers each behind
HAProxy, sharing one PostgreSQL database (tests.postgis_fixtures), one cursor secret and the
real Redis (server.shared_state, under a key prefix of the module's own, deleted after).

A module that needs more in the configuration defines its own `cluster` fixture calling
`start_cluster(…, extra=…)` (tests/scaleout/test_shared_state.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import missing_service
from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401
from tests.scaleout.cluster import Cluster, Shared, start_cluster

REDIS_URL = os.environ.get("TWINBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as e:
        missing_service(f"Redis at {REDIS_URL} is not reachable: {e}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def shared(postgis: PostGIS, redis_client: redis.Redis) -> Iterator[Shared]:
    running = Shared(db=postgis, redis_url=REDIS_URL)
    yield running
    keys = list(redis_client.scan_iter(f"{running.redis_prefix}*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(scope="module")
def cluster(shared: Shared, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("scaleout"), shared)
    try:
        yield running
    finally:
        running.stop()
