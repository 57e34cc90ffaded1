"""Benchmark: TwinBridge cascading tipg (`oapif` connector) against tipg itself, on the
street trees in PostGIS, one worker process each; and the gateway's memory while a client
streams a whole large collection through it.

    .venv/bin/python bench/features_oapif.py [--count 100000] [--requests 200]
                                             [--stream] [--stream-count 1000000]

Latency: each request is sent `--requests` times to each server, alternating, one at a time
(no concurrency: the added latency of the hop is what is measured), after a warm-up; the
table gives the median (p50) per server and TwinBridge's added share. TwinBridge maps every
feature onto the street-trees profile and checks tipg's next links; tipg counts every
match on every request (and TwinBridge passes that number on). The deep page is what each
server's own `next` link gives after offset 90,000 (TwinBridge sends tipg an `offset`, as
tipg's own links page by offset).

`--stream`: loads `--stream-count` trees into a second table, then a client follows the
gateway's next links (limit=10000) through all of them while the gateway's resident set
(VmRSS, /proc) is sampled; its peak is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import common
import httpx
import yaml
from common import BIN, Process, console
from features_postgis import ensure_trees
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "features_oapif.json"
BBOX = "9.95,53.55,10.0,53.6"
FILTER = "planting_year > 2000 AND district = 'Altona'"
PROPERTIES = [
    "species_scientific", "species_german", "genus", "planting_year", "height_m",
    "crown_diameter_m", "trunk_circumference_cm", "district", "street", "last_update",
]  # fmt: skip


def requests(item: int) -> dict[str, dict[str, str]]:
    return {
        "items?limit=100": {"limit": "100"},
        "bbox (0.05°), limit=100": {"limit": "100", "bbox": BBOX},
        "CQL2 filter, limit=100": {"limit": "100", "filter": FILTER},
        "item by id": {"_item": str(item)},
        "page at offset 90,000": {"limit": "100", "offset": "90000"},
    }


def collection(tipg: str, table: str, page_size: int = 1000) -> dict[str, Any]:
    mapping = {p: p for p in PROPERTIES}
    mapping["last_update"] = {"from": "last_update", "type": "date"}  # tipg: a plain string
    url = f"{tipg}/collections/public.{table}"
    source = {"connector": "oapif", "url": url, "page_size": page_size}
    return {"profile": "street-trees", "source": source, "mapping": {"properties": mapping}}


def start(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> tuple[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    env["TIPG_MAX_FEATURES_PER_QUERY"] = "10000"

    def tipg_cmd(port: int) -> list[str]:
        cmd = [str(BIN / "uvicorn"), "tipg.main:app", "--port", str(port), "--workers", "1"]
        return [*cmd, "--log-level", "warning", "--no-access-log"]

    tipg = common.launch(
        "tipg", tmp, procs, tipg_cmd, "/collections/public.trees/items?limit=1", env
    )
    tables = {"trees": collection(tipg, "trees")}
    if args.stream:
        # tipg pages by offset, each page costing what the rows before it cost: big pages
        tables["many"] = collection(tipg, "trees_many", page_size=10000)
    config = tmp / "twinbridge.yaml"
    doc = {
        "server": {"default_limit": 10, "max_limit": 10000},
        "tenants": {"bench": {"collections": tables}},
    }
    config.write_text(yaml.safe_dump(doc, sort_keys=False))

    def tb_cmd(port: int) -> list[str]:
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]

    gateway = common.launch(
        "TwinBridge", tmp, procs, tb_cmd, "/bench/collections/trees/items?limit=1"
    )
    return tipg, gateway


def url(base: str, path: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
    if "_item" in params:
        return f"{base}{path}/{params['_item']}", {}
    return f"{base}{path}", params


def latency(args: argparse.Namespace, tipg: str, gateway: str) -> list[dict[str, Any]]:
    paths = {
        "tipg": (tipg, "/collections/public.trees/items"),
        "TwinBridge": (gateway, "/bench/collections/trees/items"),
    }
    rows = []
    with httpx.Client(timeout=30) as client:
        for name, params in requests(args.count // 2).items():
            times: dict[str, list[float]] = {s: [] for s in paths}
            for n in range(args.requests + 10):
                for server, (base, path) in paths.items():
                    target, query = url(base, path, params)
                    started = time.perf_counter()
                    answer = client.get(target, params=query)
                    elapsed = time.perf_counter() - started
                    if answer.status_code != 200:
                        sys.exit(f"{server} {name}: {answer.status_code} {answer.text[:200]}")
                    if n >= 10:  # warm-up
                        times[server].append(elapsed)
            p50 = {s: statistics.median(t) * 1000 for s, t in times.items()}
            rows.append({"request": name, **{f"{s} p50 ms": round(v, 2) for s, v in p50.items()}})
            rows[-1]["added"] = round(p50["TwinBridge"] / p50["tipg"] - 1, 3)
    return rows


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stream(args: argparse.Namespace, gateway: str, pid: int) -> dict[str, Any]:
    peak, done = [rss_mb(pid)], threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak.append(rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, features = time.perf_counter(), 0
    next_url: str | None = f"{gateway}/bench/collections/many/items?limit=10000"
    with httpx.Client(timeout=120) as client:
        while next_url:
            doc = client.get(next_url).json()
            features += len(doc["features"])
            next_url = next((x["href"] for x in doc["links"] if x["rel"] == "next"), None)
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    return {"features": features, "seconds": round(seconds, 1), "rss_mb_start": round(peak[0], 1),
            "rss_mb_peak": round(max(peak), 1)}  # fmt: skip


async def ensure_many(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import load_postgis_trees as loader

    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT to_regclass('public.trees_many') IS NOT NULL")
        rows = await conn.fetchval("SELECT count(*) FROM trees_many") if exists else None
        if rows != args.stream_count:
            console.print(f"loading {args.stream_count:,} trees into trees_many …")
            rows_ = loader.tree_rows(args.stream_count)
            await loader.load_table(conn, rows_, table="trees_many", srid=4326)
    finally:
        await conn.close()


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    admin = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(ensure_trees(admin, args.database, args.count))
    if args.stream:
        asyncio.run(ensure_many(args))
    tipg, gateway = start(args, tmp, procs)
    rows = latency(args, tipg, gateway)
    table = Table(
        title=f"TwinBridge over tipg vs tipg, {args.count:,} trees, p50 of {args.requests}"
    )
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(f"{v:+.1%}" if k == "added" else str(v) for k, v in row.items()))
    console.print(table)
    result: dict[str, Any] = {"latency": rows}
    if args.stream:
        result["stream"] = stream(args, gateway, procs[-1].pid)
        console.print(result["stream"])
    settings = {"count": args.count, "requests": args.requests}
    common.save_results(RESULTS, settings, ("tipg", "twinbridge"), [result])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--stream-count", type=int, default=1_000_000)
    parser.add_argument("--database", default="twinbridge_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-oapif-")


if __name__ == "__main__":
    main()
