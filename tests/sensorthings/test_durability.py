"""Every acknowledged write survives `kill -9`: a real `twinbridge serve` takes Observations
from concurrent clients, is killed with SIGKILL in the middle, restarts on the same store,
and every Observation answered with a 201 is there (SQLite in WAL mode, PostgreSQL)."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import missing_service, start_gateway
from tests.sensorthings.conftest import (
    AUTH,
    STA,
    datastream,
    location,
    observed_property,
    postgres_available,
    sta_config_file,
)

WRITERS = 6
RUN_BEFORE_KILL = 1.0  # seconds of writing
ID = re.compile(r"Observations\((\d+)\)")


class Writers:
    """Threads posting Observations (one by one, and in CreateObservations batches) until
    the server goes away; they keep the ids of the writes acknowledged with a 201."""

    def __init__(self, url: str, datastream_id: int) -> None:
        self.url = url
        self.stream = {"@iot.id": datastream_id}
        self.acknowledged: set[int] = set()
        self.failed = 0  # requests the kill cut off
        self.errors: list[str] = []  # answers other than 201 (none expected)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(WRITERS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=30)

    def run(self, n: int) -> None:
        with httpx.Client(base_url=f"{self.url}{STA}", headers=AUTH, timeout=10) as client:
            i = 0
            while True:
                i += 1
                try:
                    ids = self.write(client, n, i)
                except httpx.TransportError:
                    with self.lock:
                        self.failed += 1
                    return
                except AssertionError as e:
                    self.errors.append(str(e))
                    return
                with self.lock:
                    self.acknowledged.update(ids)

    def write(self, client: httpx.Client, n: int, i: int) -> list[int]:
        if n % 2:  # a batch of 20
            rows = [[f"2024-01-01T00:{n:02d}:{i % 60:02d}.{j:03d}Z", j] for j in range(20)]
            body = [
                {
                    "Datastream": self.stream,
                    "components": ["phenomenonTime", "result"],
                    "dataArray": rows,
                }
            ]
            response = client.post("/CreateObservations", json=body)
            assert response.status_code == 201, response.text
            return [int(ID.search(link).group(1)) for link in response.json()]
        body = {"result": i, "Datastream": self.stream, "parameters": {"writer": n}}
        response = client.post("/Observations", json=body)
        assert response.status_code == 201, response.text
        return [int(ID.search(response.headers["location"]).group(1))]


def stored_ids(url: str) -> set[int]:
    found: set[int] = set()
    link: str | None = f"{url}{STA}/Observations?$select=id&$top=10000"
    while link:
        doc = httpx.get(link, timeout=30).json()
        found.update(o["@iot.id"] for o in doc["value"])
        link = doc.get("@iot.nextLink")
    return found


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_acknowledged_writes_survive_kill_9(tmp_path: Path, kind: str):
    if kind == "postgres" and not postgres_available():
        missing_service("PostgreSQL is not listening on 127.0.0.1:5432")
    config, env = sta_config_file(tmp_path, kind)
    proc, url = start_gateway(env, "--config", str(config))
    try:
        thing = {
            "name": "durable",
            "description": "written while the server is killed",
            "Locations": [location(1)],
            "Datastreams": [datastream(1, observed_property(1))],
        }
        created = httpx.post(f"{url}{STA}/Things", json=thing, headers=AUTH, timeout=10)
        assert created.status_code == 201, created.text
        ds = httpx.get(f"{url}{STA}/Datastreams", timeout=10).json()["value"][0]["@iot.id"]
        writers = Writers(url, ds)
        writers.start()
        time.sleep(RUN_BEFORE_KILL)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        writers.join()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not writers.errors, writers.errors[0]
    assert writers.acknowledged, "no write was acknowledged before the kill"
    assert writers.failed == WRITERS, "the kill must cut off writes in flight"

    proc, url = start_gateway(env, "--config", str(config))
    try:
        stored = stored_ids(url)
        lost = writers.acknowledged - stored
        assert not lost, f"{len(lost)} of {len(writers.acknowledged)} acknowledged writes lost"
        # the store still takes writes after the crash
        body = {"result": 1, "Datastream": {"@iot.id": ds}}
        after = httpx.post(f"{url}{STA}/Observations", json=body, headers=AUTH, timeout=10)
        assert after.status_code == 201, after.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
