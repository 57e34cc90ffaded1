"""Benchmark: the per-request cost of the usage KPIs. One application with `server.usage`
on, one with it off, over the same 200 street trees (a GeoJSON file), each request driven
in process through the ASGI interface (no socket, no HTTP parsing: what is measured is the
gateway's own time, where the usage middleware's share is largest).

    .venv/bin/python bench/usage.py [--requests 3000] [--rounds 5]

Two requests: `items?limit=10` from the response cache (the cheapest answer the gateway
gives, so the relative overhead is at its worst) and with the cache off (the route runs);
both with an `X-Client` header from 50 applications. On and off take turns request by
request; per round the median request time is kept, then the median of the rounds; the
overhead is on minus off, in microseconds and percent. Then
`Usage.record` alone is timed (steadier on a busy machine), and one flush of the tally
(what a worker writes every flush_seconds). Written to
bench/results/usage.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.app import create_app  # noqa: E402
from gateway.config import parse_config  # noqa: E402
from gateway.metrics import ROUTE_KEY  # noqa: E402
from gateway.usage.served import SERVED_KEY  # noqa: E402
from tests.test_federation import PROFILE_FIELDS, write_trees  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "usage.json"
PATH = "/bench/collections/trees/items"


def config(folder: Path, usage: bool, cache: bool) -> Any:
    folder.mkdir(parents=True, exist_ok=True)
    write_trees(folder / "trees.geojson", 200)
    trees = {
        "profile": "street-trees",
        "source": {"connector": "geojson", "path": "trees.geojson"},
        "mapping": {"properties": {f: f for f in PROFILE_FIELDS}},
    }
    server = {
        "usage": {"enabled": usage, "flush_seconds": 3600},
        "catalog": {"enabled": False},
        "http_cache": {"response_cache": {"max_bytes": 64 << 20 if cache else 0}},
    }
    data = {"server": server, "tenants": {"bench": {"collections": {"trees": trees}}}}
    return parse_config(data, "bench.yaml", folder)


async def call(app: Any, client: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"limit=10",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"x-client", client), (b"accept-encoding", b"identity")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def alternating(apps: dict[bool, Any], n: int) -> dict[bool, list[float]]:
    """Microseconds of each request, on and off taking turns request by request (so a
    neighbour's load falls on both alike)."""
    clients = [f"app-{i}".encode() for i in range(50)]
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(n):
        for on in (True, False) if i % 2 == 0 else (False, True):
            started = time.perf_counter()
            assert await call(apps[on], clients[i % 50]) == 200
            times[on].append((time.perf_counter() - started) * 1e6)
    return times


def record_alone(usage: Any, n: int) -> float:
    """Microseconds of `Usage.record` alone (attribution, client hash, tally, counters):
    steadier than the difference of two whole-request timings on a busy machine."""
    scope = {
        "type": "http",
        "method": "GET",
        "headers": [(b"x-client", b"app-1")],
        ROUTE_KEY: "/{tenant}/collections/{cid}/items",
        "path_params": {"tenant": "bench", "cid": "trees"},
        SERVED_KEY: 10,
    }
    started = time.perf_counter()
    for _ in range(n):
        usage.record(scope, 200, 5000)
    return (time.perf_counter() - started) / n * 1e6


async def scenario(folder: Path, cache: bool, requests: int, rounds: int) -> dict[str, Any]:
    apps = {on: create_app(config(folder / f"{on}-{cache}", on, cache)) for on in (True, False)}
    medians: dict[bool, list[float]] = {True: [], False: []}
    on_app, off_app = apps[True], apps[False]
    async with on_app.router.lifespan_context(on_app), off_app.router.lifespan_context(off_app):
        await alternating(apps, 200)  # warm: caches, first answers
        for _ in range(rounds):
            times = await alternating(apps, requests)
            for on in (True, False):
                medians[on].append(statistics.median(times[on]))
        usage = on_app.state.usage
        record_us = record_alone(usage, requests)
        started = time.perf_counter()
        await usage.flush()
        flush_ms = (time.perf_counter() - started) * 1000
    on, off = statistics.median(medians[True]), statistics.median(medians[False])
    return {
        "cache": cache,
        "us_per_request_on": round(on, 1),
        "us_per_request_off": round(off, 1),
        "overhead_us": round(on - off, 1),
        "overhead_percent": round((on - off) / off * 100, 1),
        "record_us": round(record_us, 2),
        "flush_ms": round(flush_ms, 2),
        "rounds_on": [round(t, 1) for t in medians[True]],
        "rounds_off": [round(t, 1) for t in medians[False]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="twinbridge-bench-usage-") as tmp:
        results = [
            asyncio.run(scenario(Path(tmp), cache, args.requests, args.rounds))
            for cache in (True, False)
        ]
    for r in results:
        what = "cache hit" if r["cache"] else "route runs"
        print(
            f"{what:>10}: off {r['us_per_request_off']} µs, on {r['us_per_request_on']} µs "
            f"per request: +{r['overhead_us']} µs ({r['overhead_percent']} %); "
            f"record() alone {r['record_us']} µs; flush {r['flush_ms']} ms"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
