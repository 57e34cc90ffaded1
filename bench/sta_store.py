"""Benchmark: one million Observations in the embedded SensorThings store.

    .venv/bin/python bench/sta_store.py [--observations 1000000] [--store sqlite|postgres]
                                        [--batch 10000] [--repeat 30]

Starts `twinbridge serve` with one tenant whose store is a fresh SQLite file (or a fresh
PostgreSQL schema), creates 50 Things with 4 Datastreams each, then ingests the
Observations over HTTP with `CreateObservations` (dataArray, `--batch` rows a request,
one-minute steps, the FeatureOfInterest made from the Thing's Location), and measures
sequential request latencies (after a warm-up; median and 95th percentile):

- `Datastreams(id)/Observations?$filter=phenomenonTime gt …&$top=1000` (a random stream,
  the cut in its middle);
- `Observations?$count=true&$top=1` (counting all of them) and the same per Datastream;
- `Things?$expand=Datastreams($top=1;$orderby=phenomenonTime desc)`;
- `Datastreams?$expand=Observations($top=1;$orderby=phenomenonTime desc)` (the latest
  observation of every stream, FROST-Server's known pain point).

It prints the ingest rate, the latencies, the store's size on disk and the server's peak
resident memory (VmHWM), and writes them to `bench/results/sta_store.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "sta_store.json"
KEY = "bench-key"
THINGS, STREAMS_PER_THING = 50, 4
START = datetime(2024, 1, 1, tzinfo=UTC)
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(config: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the gateway did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def create_things(client: httpx.Client, root: str) -> list[int]:
    for t in range(THINGS):
        thing = {
            "name": f"node {t:03d}",
            "description": "benchmark node",
            "properties": {"n": t},
            "Locations": [
                {
                    "name": f"site {t}",
                    "description": "site",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [12.3 + t / 1000, 51.3]},
                }
            ],
            "Datastreams": [
                {
                    "name": f"node {t:03d} stream {d}",
                    "description": "benchmark stream",
                    "unitOfMeasurement": {
                        "name": "degree Celsius",
                        "symbol": "Cel",
                        "definition": "http://unitsofmeasure.org",
                    },
                    "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                    "Sensor": {
                        "name": f"sensor {t}-{d}",
                        "description": "s",
                        "encodingType": "text/html",
                        "metadata": "x",
                    },
                    "ObservedProperty": {
                        "name": f"property {d}",
                        "definition": f"urn:bench:{d}",
                        "description": "p",
                    },
                }
                for d in range(STREAMS_PER_THING)
            ],
        }
        r = client.post(f"{root}/Things", json=thing)
        r.raise_for_status()
    return [
        d["@iot.id"]
        for d in client.get(f"{root}/Datastreams?$select=id&$top=10000").json()["value"]
    ]


def ingest(
    client: httpx.Client, root: str, streams: list[int], total: int, batch: int
) -> tuple[float, int]:
    """Post all rows; the bodies are prepared first so that only the server is timed."""
    per_stream = total // len(streams)
    step = max(1, batch // len(streams))
    stamps = [
        (START + timedelta(minutes=i)).isoformat().replace("+00:00", "Z") for i in range(per_stream)
    ]
    rng = random.Random(1)
    bodies = []
    for offset in range(0, per_stream, step):
        window = stamps[offset : offset + step]
        body = [
            {
                "Datastream": {"@iot.id": ds},
                "components": ["phenomenonTime", "result"],
                "dataArray": [[t, round(rng.gauss(12, 5), 2)] for t in window],
            }
            for ds in streams
        ]
        bodies.append((orjson.dumps(body), len(window) * len(streams)))
    headers = {"Content-Type": "application/json"}
    rows_done, started = 0, time.perf_counter()
    for content, rows in bodies:
        r = client.post(f"{root}/CreateObservations", content=content, headers=headers, timeout=300)
        r.raise_for_status()
        rows_done += rows
    return time.perf_counter() - started, rows_done


def latency(client: httpx.Client, make_url: Any, repeat: int) -> dict[str, float]:
    for _ in range(3):
        client.get(make_url()).raise_for_status()
    samples = []
    for _ in range(repeat):
        url = make_url()
        t = time.perf_counter()
        r = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2),
        "bytes": len(r.content),
    }


def queries(root: str, streams: list[int], per_stream: int) -> dict[str, Any]:
    rng = random.Random(2)
    middle = (START + timedelta(minutes=per_stream // 2)).isoformat().replace("+00:00", "Z")

    def window() -> str:
        stream = rng.choice(streams)
        query = f"$filter=phenomenonTime gt {middle}&$top=1000"
        return f"{root}/Datastreams({stream})/Observations?{query}"

    def stream_count() -> str:
        return f"{root}/Datastreams({rng.choice(streams)})/Observations?$count=true&$top=1"

    return {
        "Datastreams(id)/Observations?$filter=phenomenonTime gt …&$top=1000": window,
        "Observations?$count=true&$top=1 (all)": lambda: f"{root}/Observations?$count=true&$top=1",
        "Datastreams(id)/Observations?$count=true&$top=1": stream_count,
        "Things?$expand=Datastreams($top=1;$orderby=phenomenonTime desc)": lambda: (
            f"{root}/Things?$expand=Datastreams($top=1;$orderby=phenomenonTime desc)"
        ),
        "Datastreams?$expand=Observations($top=1;$orderby=phenomenonTime desc)": lambda: (
            f"{root}/Datastreams?$expand=Observations($top=1;$orderby=phenomenonTime desc)"
        ),
    }


def store_config(folder: Path, kind: str, dsn: str) -> tuple[dict[str, Any], str | None]:
    if kind == "sqlite":
        return {"path": str(folder / "bench.sqlite")}, None
    schema = f"sta_bench_{uuid.uuid4().hex[:8]}"
    return {"kind": "postgres", "dsn": dsn, "schema": schema}, schema


def drop_schema(dsn: str, schema: str) -> None:
    import asyncio

    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()

    asyncio.run(drop())


def store_size(folder: Path, dsn: str, schema: str | None) -> float:
    if schema is None:
        return sum(p.stat().st_size for p in folder.glob("bench.sqlite*")) / 1e6
    import asyncio

    import asyncpg

    async def size() -> float:
        conn = await asyncpg.connect(dsn)
        q = (
            "SELECT sum(pg_total_relation_size(quote_ident(schemaname) || '.' ||"
            " quote_ident(tablename))) FROM pg_tables WHERE schemaname = $1"
        )
        value = await conn.fetchval(q, schema)
        await conn.close()
        return float(value or 0) / 1e6

    return asyncio.run(size())


def run(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="sta-bench-"))
    store, schema = store_config(folder, args.store, args.dsn)
    config = {
        "server": {"sensorthings": {"max_top": 10000}},
        "tenants": {"bench": {"sensorthings": {"store": store, "api_key_env": "TB_BENCH_KEY"}}},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    proc, url = start_server(folder / "config.yaml", {"TB_BENCH_KEY": KEY})
    root = f"{url}/bench/sta/v1.1"
    try:
        with httpx.Client(headers={"X-API-Key": KEY}, timeout=120) as client:
            streams = create_things(client, root)
            seconds, rows = ingest(client, root, streams, args.observations, args.batch)
            rss_ingest = peak_rss_mb(proc.pid)
            count = client.get(f"{root}/Observations?$count=true&$top=0").json()["@iot.count"]
            results = {
                name: latency(client, make, args.repeat)
                for name, make in queries(root, streams, rows // len(streams)).items()
            }
        return {
            "store": args.store,
            "observations": count,
            "ingest": {
                "rows": rows,
                "seconds": round(seconds, 2),
                "rows_per_second": round(rows / seconds),
                "batch": args.batch,
            },
            "latency": results,
            "store_mb": round(store_size(folder, args.dsn, schema), 1),
            "server_peak_rss_mb": {
                "after_ingest": round(rss_ingest, 1),
                "at_end": round(peak_rss_mb(proc.pid), 1),
            },
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if schema is not None and not args.keep:
            drop_schema(args.dsn, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--batch", type=int, default=10_000, help="rows per CreateObservations request"
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per query")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema afterwards")
    args = parser.parse_args()
    result = run(args)
    count, size = result["observations"], result["store_mb"]
    print(f"store: {result['store']}, {count:,} observations, {size} MB on disk")
    ing = result["ingest"]
    rate = f"{ing['rows_per_second']:,} rows/s ({ing['seconds']} s)"
    print(f"ingest (CreateObservations, {ing['batch']} rows/request): {rate}")
    for name, figures in result["latency"].items():
        print(f"  {figures['median_ms']:>9.2f} ms median  {figures['p95_ms']:>9.2f} ms p95  {name}")
    rss = result["server_peak_rss_mb"]
    print(f"server peak RSS: {rss['after_ingest']} MB after ingest, {rss['at_end']} MB at the end")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous[result["store"]] = result
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n")


if __name__ == "__main__":
    main()
