"""Every acknowledged write survives `kill -9`, with its result and time, exactly once.

A real `twinbridge serve` (two worker processes, writes enabled through `api_key_env`) takes
Observations from concurrent clients, half of them with `POST Observations`, half with
`POST CreateObservations` (dataArray batches). Once enough are acknowledged, the whole
process group is killed with SIGKILL; the gateway restarts on the same store (a SQLite file,
or a PostgreSQL database of its own) and every Observation answered with a 201 (or an id in
the CreateObservations answer) must be there with the result and phenomenonTime it was sent
with, each sent value at most once, and nothing stored that no client sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import free_port, missing_service
from tests.sensorthings.conftest import (
    AUTH,
    KEY,
    PG_DSN,
    STA,
    datastream,
    location,
    observed_property,
    postgres_available,
)

WRITERS = 6  # odd ones send CreateObservations batches, even ones single Observations
BATCH = 20
ACKNOWLEDGED_BEFORE_KILL = 300  # Observations, so that the kill hits a busy server
ID = re.compile(r"Observations\((\d+)\)")
START = datetime(2025, 6, 1, tzinfo=UTC)
Sent = tuple[int, datetime]  # (result, phenomenonTime): unique for each Observation sent


def sent(writer: int, request: int, row: int) -> Sent:
    """The value an Observation carries: its result tells who sent it, and its time too."""
    result = (writer * 1_000_000 + request) * 100 + row
    return result, time_of(result)


def time_of(result: int) -> datetime:
    return START + timedelta(milliseconds=result)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Writers:
    """Threads posting Observations until the server goes away; `acknowledged` maps each id
    answered with a 201 to the value sent."""

    def __init__(self, url: str, datastream_id: int) -> None:
        self.url = url
        self.stream = {"@iot.id": datastream_id}
        self.acknowledged: dict[int, Sent] = {}
        self.cut_off = 0  # writers whose request in flight the kill cut off
        self.errors: list[str] = []  # answers other than 201 (none expected)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(WRITERS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=60)

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def run(self, n: int) -> None:
        with httpx.Client(base_url=f"{self.url}{STA}", headers=AUTH, timeout=30) as client:
            for i in range(1, 1_000_000):
                try:
                    done = self.write(client, n, i)
                except httpx.TransportError:
                    with self.lock:
                        self.cut_off += 1
                    return
                except AssertionError as e:
                    self.errors.append(str(e))
                    return
                with self.lock:
                    self.acknowledged.update(done)

    def write(self, client: httpx.Client, n: int, i: int) -> dict[int, Sent]:
        if n % 2:
            values = [sent(n, i, j) for j in range(BATCH)]
            body = [
                {
                    "Datastream": self.stream,
                    "components": ["phenomenonTime", "result"],
                    "dataArray": [[iso(t), r] for r, t in values],
                }
            ]
            response = client.post("/CreateObservations", json=body)
            assert response.status_code == 201, response.text
            links = response.json()
            assert len(links) == BATCH, links
            return {int(ID.search(link).group(1)): v for link, v in zip(links, values, strict=True)}
        result, t = sent(n, i, 0)
        body = {"result": result, "phenomenonTime": iso(t), "Datastream": self.stream}
        response = client.post("/Observations", json=body)
        assert response.status_code == 201, response.text
        return {int(ID.search(response.headers["location"]).group(1)): (result, t)}


def start_server(config: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`twinbridge serve` with two workers in a process group of its own (killed whole)."""
    port = free_port()
    cmd = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
    cmd += ["--port", str(port), "--workers", "2", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a busy CI machine starts it slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}{STA}/Datastreams", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    kill_group(proc)
    raise RuntimeError("gateway did not start within 90 s")


def kill_group(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=30)


def with_database(dsn: str, name: str) -> str:
    return dsn.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The store block: a SQLite file, or a fresh PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        yield {"path": str(tmp_path / "durable.sqlite")}
        return
    if not postgres_available():
        missing_service("PostgreSQL is not listening on 127.0.0.1:5432")
    name = f"twinbridge_kill9_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield {"kind": "postgres", "dsn": with_database(PG_DSN, name), "schema": "sta"}
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def stored(url: str, datastream_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    link: str | None = (
        f"{url}{STA}/Datastreams({datastream_id})/Observations"
        "?$select=id,result,phenomenonTime&$orderby=id&$top=10000"
    )
    while link:
        response = httpx.get(link, timeout=60)
        assert response.status_code == 200, response.text
        doc = response.json()
        rows += doc["value"]
        link = doc.get("@iot.nextLink")
    return rows


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.integration
def test_acknowledged_observations_survive_kill_9_once_with_their_values(
    tmp_path: Path, store: dict[str, Any]
):
    env_name = f"TB_TEST_KEY_{uuid.uuid4().hex[:12]}"
    sta = {"store": store, "api_key_env": env_name}
    config = tmp_path / "twinbridge.yaml"
    config.write_text(json.dumps({"tenants": {"t": {"sensorthings": sta}}}))  # JSON is YAML
    env = {env_name: KEY}

    proc, url = start_server(config, env)
    try:
        thing = {
            "name": "durable",
            "description": "written to while the server is killed",
            "Locations": [location(1)],
            "Datastreams": [datastream(1, observed_property(1))],
        }
        created = httpx.post(f"{url}{STA}/Things", json=thing, headers=AUTH, timeout=30)
        assert created.status_code == 201, created.text
        ds = httpx.get(f"{url}{STA}/Datastreams", timeout=30).json()["value"][0]["@iot.id"]
        writers = Writers(url, ds)
        writers.start()
        deadline = time.monotonic() + 60
        while writers.count() < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            if writers.errors:
                break
            time.sleep(0.02)
        kill_group(proc)  # kill -9 of the master and both workers, mid-burst
        writers.join()
    finally:
        if proc.poll() is None:
            kill_group(proc)
    assert not writers.errors, writers.errors[0]
    assert writers.count() >= ACKNOWLEDGED_BEFORE_KILL, "too few writes before the kill"
    assert writers.cut_off == WRITERS, "the kill must cut off every writer mid-request"

    proc, url = start_server(config, env)
    try:
        rows = stored(url, ds)
        by_id = {row["@iot.id"]: row for row in rows}
        assert len(by_id) == len(rows)
        lost = [i for i in writers.acknowledged if i not in by_id]
        assert not lost, f"{len(lost)} of {len(writers.acknowledged)} acknowledged writes lost"
        for id_, (result, t) in writers.acknowledged.items():
            row = by_id[id_]
            assert (row["result"], parse(row["phenomenonTime"])) == (result, t), row
        twice = [r for r, n in Counter(row["result"] for row in rows).items() if n > 1]
        assert not twice, f"{len(twice)} values stored more than once, e.g. {twice[:5]}"
        # Besides the acknowledged ones, at most what was in flight when the kill came
        # (committed, its answer lost), each a value some writer sent.
        extra = [row for row in rows if row["@iot.id"] not in writers.acknowledged]
        assert len(extra) <= (WRITERS // 2) * (BATCH + 1), len(extra)
        for row in extra:
            writer, rest = divmod(row["result"], 100_000_000)
            assert 0 <= writer < WRITERS and (writer % 2 or rest % 100 == 0), row
            assert parse(row["phenomenonTime"]) == time_of(row["result"]), row
        # the store takes writes again after the crash
        body = {"result": 1, "Datastream": {"@iot.id": ds}}
        after = httpx.post(f"{url}{STA}/Observations", json=body, headers=AUTH, timeout=30)
        assert after.status_code == 201, after.text
    finally:
        kill_group(proc, signal.SIGTERM)
