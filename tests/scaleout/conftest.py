"""The scale-out cluster, once per test module: two instances of two workers each behind
HAProxy, sharing one PostgreSQL database (tests.postgis_fixtures) and one cursor secret.

To give the cluster Redis-shared state, pass its URL in `shared` below, e.g.
`Shared(db=postgis, redis_url=redis_url)`: the config gets `server.shared_state.redis_url`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401
from tests.scaleout.cluster import Cluster, Shared, start_cluster


@pytest.fixture(scope="module")
def shared(postgis: PostGIS) -> Shared:
    return Shared(db=postgis)


@pytest.fixture(scope="module")
def cluster(shared: Shared, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("scaleout"), shared)
    try:
        yield running
    finally:
        running.stop()
