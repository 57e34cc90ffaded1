"""Large entity sets (`$top` above STREAM_ABOVE) are read in chunks and written as they come,
and say exactly what the one-piece answer says: the same entities (with $select, $expand,
$ref, $filter, $orderby, $skip), the same @iot.count and @iot.nextLink, whose pages continue
the same way; over SQLite and PostgreSQL stores. A real `twinbridge serve` answering a set
several times larger than the bound keeps its memory flat."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.sensorthings.encode import Links
from gateway.sensorthings.model import BY_NAME
from gateway.sensorthings.odata.options import parse_options
from gateway.sensorthings.store import stream
from gateway.sensorthings.store.dialect import SQLITE
from gateway.sensorthings.store.read import ReadContext
from tests.conftest import free_port
from tests.sensorthings.conftest import AUTH, STA, populate_ets

PER_DATASTREAM = 800  # × 4 Datastreams: 3,200 Observations besides the fixture's 12


def fill(client: Any) -> None:
    populate_ets(client)
    datastreams = [d["@iot.id"] for d in client.get(f"{STA}/Datastreams").json()["value"]]
    body = [
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result"],
            "dataArray": [
                [f"2021-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z", (n * 37) % 1000]
                for n in range(PER_DATASTREAM)
            ],
        }
        for ds in datastreams
    ]
    assert client.post(f"{STA}/CreateObservations", json=body, headers=AUTH).status_code == 201


def both(client: Any, url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The streamed answer, checked against the one-piece answer."""
    monkeypatch.setattr(stream, "STREAM_ABOVE", 1000)
    streamed = client.get(url)
    monkeypatch.setattr(stream, "STREAM_ABOVE", 10**9)
    whole = client.get(url)
    assert streamed.status_code == whole.status_code == 200, streamed.text
    assert "content-length" not in streamed.headers and "content-length" in whole.headers
    assert streamed.json() == whole.json()
    return streamed.json()


@pytest.mark.parametrize(
    "query",
    [
        "Observations?$top=2500&$count=true",
        "Observations?$top=1500&$orderby=result desc&$skip=7",
        "Observations?$top=1200&$select=id,result,phenomenonTime&$filter=result gt 100",
        "Observations?$top=1100&$expand=Datastream($select=name),FeatureOfInterest",
        "Observations/$ref?$top=1300",
        "Datastreams?$top=1001&$expand=Observations($top=60;$orderby=result;$count=true)",
    ],
)
def test_a_streamed_entity_set_is_the_one_piece_answer(client, monkeypatch, query):
    fill(client)
    doc = both(client, f"{STA}/{query}", monkeypatch)
    seen = [e.get("@iot.id") or e["@iot.selfLink"] for e in doc["value"]]
    pages = 1
    while "@iot.nextLink" in doc and pages < 3:  # the next pages continue alike
        doc = both(client, doc["@iot.nextLink"].split("testserver", 1)[1], monkeypatch)
        seen += [e.get("@iot.id") or e["@iot.selfLink"] for e in doc["value"]]
        pages += 1
    assert len(seen) == len(set(seen))


def test_a_streamed_set_under_a_parent_ends_without_a_next_link(client, monkeypatch):
    fill(client)
    ds = client.get(f"{STA}/Datastreams?$orderby=id").json()["value"][-1]["@iot.id"]
    doc = both(client, f"{STA}/Datastreams({ds})/Observations?$top=5000&$count=true", monkeypatch)
    assert len(doc["value"]) == doc["@iot.count"] >= PER_DATASTREAM
    assert "@iot.nextLink" not in doc


def test_a_missing_parent_is_still_a_404_not_a_broken_stream(client):
    response = client.get(f"{STA}/Datastreams(424242)/Observations?$top=5000")
    assert response.status_code == 404 and response.json()["code"] == 404


def test_expanded_sets_make_smaller_chunks():
    read = ReadContext(SQLITE, Links("http://x"), max_top=100000)
    plain = parse_options([("$top", "5000")])
    nested = parse_options([("$top", "5000"), ("$expand", "Observations($top=99)")])
    ordered = parse_options([("$top", "5000"), ("$orderby", "name")])
    datastream = BY_NAME["Datastream"]
    assert stream.chunk_size(read, datastream, plain) == stream.CHUNK
    assert stream.chunk_size(read, datastream, nested) == stream.CHUNK // 100
    assert stream.chunk_size(read, datastream, ordered) == stream.SORTED_CHUNK


@pytest.mark.integration
def test_memory_stays_flat_while_a_large_set_streams(demo_dir: Path, tmp_path: Path) -> None:
    """The demo's Leipzig store (80,000 Observations), each with its Datastream expanded:
    about 110 MB of JSON. Growth is bounded by a chunk and SQLite's page caches."""
    shutil.copy(demo_dir / "sensorthings" / "sta-leipzig.sqlite", tmp_path / "l.sqlite")
    config = {
        "server": {"sensorthings": {"max_top": 1_000_000}},
        "tenants": {"leipzig": {"sensorthings": {"store": {"path": str(tmp_path / "l.sqlite")}}}},
    }
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen([*command, "--config", str(tmp_path / "gateway.yaml")])
    url = f"http://127.0.0.1:{port}/leipzig/sta/v1.1/Observations"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}?$top=2000", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        Path(f"/proc/{proc.pid}/clear_refs").write_text("5")
        before = _memory_mb(proc.pid, "VmRSS")
        size, tail = 0, b""
        query = "?$top=1000000&$expand=Datastream&$count=true"
        identity = {"Accept-Encoding": "identity"}  # the size as encoded, uncompressed
        with httpx.stream("GET", url + query, headers=identity, timeout=120) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                size += len(chunk)
                tail = (tail + chunk)[-200:]
        growth = _memory_mb(proc.pid, "VmHWM") - before
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bound = 40
    assert size > 2.5 * bound * 2**20 and tail.endswith(b"]}")
    assert growth < bound, f"grew {growth:.0f} MB while streaming {size / 2**20:.0f} MB"


def _memory_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0]) / 1024
    raise KeyError(key)
