"""A real `twinbridge serve` streaming large pages from PostGIS: its memory stays flat while a
page several times larger than the bound goes out; a backend that dies mid-stream aborts the
transfer (the client sees a protocol error, never a well-formed short answer) and frees the
source's slot; a client that goes away frees the slot and the database connection at once;
GDAL reads streamed pages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
import yaml
import zstandard

import profiles
from tests.conftest import free_port, require_command
from tests.faults import FaultProxy, fault_proxy
from tests.postgis_fixtures import TREE_COUNT, PostGIS, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration
COPIES = 80  # the big table: 80 × the 2,000 trees, ~60 MB of GeoJSON as one page
BIG = TREE_COUNT * COPIES
BOUND_MB = 16  # the most the gateway's resident memory may grow while it streams that
IDLE = 0.5  # the `stalling` collection's timeout: each record mid-stream within this
NAMES = [n for n in profiles.get("street-trees").properties() if n != "tenant"]


async def _make_big(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        columns = [
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'trees'"
                " AND column_name <> 'fid' ORDER BY ordinal_position"
            )
        ]
        names = ", ".join(columns)
        await conn.execute(
            f"DROP TABLE IF EXISTS trees_big; CREATE TABLE trees_big (LIKE trees);"
            f" INSERT INTO trees_big (fid, {names})"
            f" SELECT (g - 1) * {TREE_COUNT} + fid, {names}"
            f" FROM trees, generate_series(1, {COPIES}) g;"
            " ALTER TABLE trees_big ADD PRIMARY KEY (fid); ANALYZE trees_big"
        )
    finally:
        await conn.close()


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    proxy: FaultProxy
    db: PostGIS

    def items(self, collection: str, query: str) -> str:
        return f"{self.url}/db/collections/{collection}/items?{query}"


@pytest.fixture(scope="module")
def served(postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The gateway with `big` (direct), `faulty` and `stalling` (through a fault proxy; the
    latter with a 0.5 s timeout) and `trees`; each takes one call at a time and queues none,
    so a slot still held answers 503."""
    asyncio.run(_make_big(postgis.dsn))
    folder = tmp_path_factory.mktemp("streamed")
    one_at_a_time = {"concurrency": 1, "queue": 0}
    with fault_proxy(postgis.port) as proxy:

        def collection(table: str, timeout: float = 5, **source: object) -> dict[str, object]:
            options = postgis.options(table, pool_min_size=1, pool_max_size=1, **source)
            return {
                "profile": "street-trees",
                "source": {"connector": "postgis", **options},
                "mapping": {"id": "fid", "properties": {n: n for n in NAMES}},
                "resilience": {**one_at_a_time, "timeout": timeout},
            }

        collections = {
            "big": collection("trees_big"),
            "faulty": collection("trees_big", port=proxy.port),
            "stalling": collection("trees_big", timeout=IDLE, port=proxy.port, statement_timeout=1),
            "trees": collection("trees"),
        }
        config = {
            "server": {"max_limit": 1_000_000},
            "tenants": {"db": {"collections": collections}},
        }
        (folder / "gateway.yaml").write_text(yaml.safe_dump(config))
        port, log = free_port(), folder / "gateway.log"
        command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [*command, "--log-level", "warning", "--config", str(folder / "gateway.yaml")],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, proc)
            yield Served(url, proc, log, proxy, postgis)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the gateway exited"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the gateway did not start within 30 s")


def memory_mb(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            found[key] = int(value.split()[0]) / 1024
    return found


@pytest.mark.parametrize("coding", ["identity", "zstd"])
def test_memory_stays_flat_while_a_large_page_streams(served: Served, coding: str) -> None:
    """Compressed too: each chunk is compressed as it passes (gateway/web/compression.py)."""
    warm = httpx.get(served.items("big", "limit=5000"), timeout=30)  # the same code, warmed
    assert warm.status_code == 200 and len(warm.json()["features"]) == 5000
    Path(f"/proc/{served.proc.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = memory_mb(served.proc.pid)["VmRSS"]
    size, tail = 0, b""
    decoder = zstandard.ZstdDecompressor().decompressobj() if coding == "zstd" else None
    url, sent = served.items("big", f"limit={BIG}"), {"Accept-Encoding": coding}
    with httpx.stream("GET", url, headers=sent, timeout=120) as response:
        assert response.status_code == 200
        assert response.headers.get("content-encoding", "identity") == coding
        for chunk in response.iter_raw():
            chunk = decoder.decompress(chunk) if decoder else chunk
            size += len(chunk)
            tail = (tail + chunk)[-2000:]
    growth = memory_mb(served.proc.pid)["VmHWM"] - before
    assert size > 3 * BOUND_MB * 2**20, size
    assert growth < BOUND_MB, f"grew {growth:.1f} MB while streaming {size / 2**20:.0f} MB"
    assert f'"numberReturned":{BIG}'.encode() in tail and tail.endswith(b"}")


def test_a_backend_dying_mid_stream_aborts_the_transfer(served: Served) -> None:
    served.proxy.set("pass")
    received = b""
    with httpx.stream("GET", served.items("faulty", f"limit={BIG}"), timeout=30) as response:
        assert response.status_code == 200
        request_id = response.headers["x-request-id"]
        chunks = response.iter_raw()
        for chunk in chunks:
            received += chunk
            if len(received) > 200_000:
                break
        served.proxy.set("reset", cut=True)  # PostgreSQL's connection dies mid-stream
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in chunks:
                received += chunk
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(received)  # never a well-formed, silently short answer
    served.proxy.set("pass")
    again = httpx.get(served.items("faulty", "limit=5"), timeout=10)  # the slot was freed
    assert again.status_code == 200, again.text
    logged = served.log.read_text()
    assert f"request_id={request_id} aborted the answer after" in logged


def test_a_backend_that_stops_sending_mid_stream_is_cut_off_by_the_idle_deadline(
    served: Served,
) -> None:
    served.proxy.set("pass")
    with httpx.stream("GET", served.items("stalling", f"limit={BIG}"), timeout=30) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        next(chunks)
        served.proxy.set("hang")  # PostgreSQL's answers stop coming; the connection stays up
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            for _ in chunks:
                pass
    assert time.monotonic() - started < IDLE + 2  # the buffered part, then the cut
    served.proxy.set("pass", cut=True)  # the hung connection goes; the pool makes a new one
    assert httpx.get(served.items("stalling", "limit=5"), timeout=10).status_code == 200
    assert "mid-stream" in served.log.read_text()


def _busy_connections(db: PostGIS) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(db.dsn)
        try:
            sql = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
                " AND application_name = 'twinbridge' AND state <> 'idle'"
            )
            return int(await conn.fetchval(sql, db.database))
        finally:
            await conn.close()

    return asyncio.run(count())


def test_a_client_that_goes_away_frees_the_slot_and_the_connection_at_once(
    served: Served,
) -> None:
    with httpx.stream("GET", served.items("big", f"limit={BIG}"), timeout=30) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        next(chunks)
        assert _busy_connections(served.db) == 1  # the stream's cursor, mid-transaction
    left = time.monotonic()  # the client closed its connection
    while True:  # only this request may use the source: a held slot answers 503
        status = httpx.get(served.items("big", "limit=5"), timeout=10).status_code
        if status == 200 or time.monotonic() - left > 1:
            break
        time.sleep(0.02)
    assert status == 200 and time.monotonic() - left < 1
    while _busy_connections(served.db) and time.monotonic() - left < 2:
        time.sleep(0.05)
    assert _busy_connections(served.db) == 0


def test_a_client_that_stops_reading_loses_its_stream_and_frees_the_slot(
    served: Served,
) -> None:
    """A few clients that open huge pages and stop reading must not hold a city's slots:
    once nothing is taken for the source's timeout, the stream is given up."""
    import socket

    served.proxy.set("pass")
    port = int(served.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        target = f"/db/collections/stalling/items?limit={BIG}"
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")  # then it reads no more
        busy = httpx.get(served.items("stalling", "limit=5"), timeout=10)
        assert busy.status_code == 503  # the slot is the stalled stream's
        started = time.monotonic()
        while time.monotonic() - started < IDLE + 5:
            if httpx.get(served.items("stalling", "limit=5"), timeout=10).status_code == 200:
                break
            time.sleep(0.1)
        assert time.monotonic() - started < IDLE + 5, "the slot stayed with the stalled client"
    assert "slow_client" in served.log.read_text()


def test_ogrinfo_reads_streamed_pages(served: Served) -> None:
    require_command("ogrinfo")
    done = subprocess.run(
        [
            "ogrinfo",
            "-ro",
            "-al",
            "-q",
            "-oo",
            "PAGE_SIZE=1500",
            f"OAPIF:{served.url}/db/",
            "trees",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    ids = [line for line in done.stdout.splitlines() if line.startswith("OGRFeature(trees):")]
    assert len(ids) == TREE_COUNT
    assert "planting_year (Integer" in done.stdout or "planting_year (Integer)" in done.stdout
