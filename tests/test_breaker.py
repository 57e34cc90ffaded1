"""The circuit breaker: unit behaviour, and a real slow PostgreSQL source left alone after
repeated timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.breaker import Breaker
from gateway.config import parse_config
from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_lets_one_trial_through() -> None:
    clock = Clock()
    b = Breaker(failures=3, cooldown=30, clock=clock)
    for _ in range(2):
        assert b.allow()
        b.failed()
    b.allow()
    b.succeeded()  # a success in between starts the count again
    for _ in range(3):
        assert b.allow()
        b.failed()
    assert b.open and not b.allow() and b.retry_in() == 30
    clock.now += 29.9
    assert not b.allow()
    clock.now += 0.2
    assert b.allow()  # the trial
    assert not b.allow()  # only one at a time
    b.failed()  # the trial failed: open again, for a whole cooldown
    assert b.open and not b.allow() and b.retry_in() == 30
    clock.now += 30
    assert b.allow()
    b.succeeded()
    assert not b.open and b.allow() and b.allow()


def test_an_abandoned_trial_frees_the_next_one_and_zero_never_opens() -> None:
    clock = Clock()
    b = Breaker(failures=1, cooldown=5, clock=clock)
    b.failed()
    clock.now += 5
    assert b.allow()
    b.abandoned()  # the client went away during the trial
    assert b.allow()
    never = Breaker(failures=0, cooldown=5, clock=clock)
    for _ in range(100):
        never.failed()
    assert not never.open and never.allow()


@pytest.mark.integration
def test_a_slow_query_never_opens_the_breaker(postgis: PostGIS) -> None:
    """PostgreSQL cancelling a too costly statement is alive and answering: the client's
    query is at fault (504), and the source stays available for everyone else."""
    source = postgis.options("baeume_langsam", id_field="baumid", statement_timeout=0.1)
    collection = {"source": {"connector": "postgis", **source}}
    data = {
        "server": {"resilience": {"breaker_failures": 2, "breaker_cooldown": 30}},
        "tenants": {"hamburg": {"collections": {"slow": collection}}},
    }
    app = create_app(parse_config(data, "test.yaml", Path(".")))
    with TestClient(app) as client:
        for _ in range(6):
            response = client.get("/hamburg/collections/slow/items?limit=5")
            assert response.status_code == 504
            assert "too costly" in response.json()["description"]
        assert not app.state.catalog.tenants["hamburg"].collections["slow"].breaker.open
        assert client.get("/ready").json()["open_circuits"] == []
