"""SensorThings reads of an embedded SQLite store: tagged by the store's change counter,
so a 304 skips the query and a write (by this gateway or any other process) is seen by
the next read."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.sensorthings.conftest import KEY, sta_config

STA = "/t/sta/v1.1"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    loaded, _ = sta_config(tmp_path)
    with TestClient(create_app(loaded)) as client:
        client.post(f"{STA}/Things", json={"name": "one", "description": "first"},
                    headers={"X-API-Key": KEY})  # fmt: skip
        yield client


def test_a_read_gets_a_tag_and_a_304_without_reading_the_store(client: TestClient) -> None:
    first = client.get(f"{STA}/Things")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    assert first.headers["vary"] == "Accept-Encoding"  # STA answers vary by no Accept
    store = client.app.state.sensorthings.services["t"].store  # type: ignore[attr-defined]
    reads = 0
    read = store.read

    async def counted(plan: object) -> object:
        nonlocal reads
        reads += 1
        return await read(plan)

    store.read = counted
    r = client.get(f"{STA}/Things", headers={"If-None-Match": etag})
    assert r.status_code == 304 and reads == 0
    assert client.get(f"{STA}/Things?$top=1").headers["etag"] != etag
    assert reads == 1


def test_a_write_changes_the_tag_at_once(client: TestClient, tmp_path: Path) -> None:
    etag = client.get(f"{STA}/Things").headers["etag"]
    assert client.get(f"{STA}/Things").headers["x-cache"] == "hit"
    created = client.post(f"{STA}/Things", json={"name": "two", "description": "second"},
                          headers={"X-API-Key": KEY})  # fmt: skip
    assert created.status_code == 201
    r = client.get(f"{STA}/Things", headers={"If-None-Match": etag})
    assert r.status_code == 200 and len(r.json()["value"]) == 2
    assert r.headers["x-cache"] == "miss"
    # a write by another process (here: another connection) is seen too
    etag = r.headers["etag"]
    with sqlite3.connect(tmp_path / "t.sqlite") as other:
        other.execute("UPDATE things SET name = 'renamed' WHERE name = 'two'")
    r = client.get(f"{STA}/Things", headers={"If-None-Match": etag})
    assert r.status_code == 200 and {t["name"] for t in r.json()["value"]} == {"one", "renamed"}
