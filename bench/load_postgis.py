"""Load: many connections on a PostGIS bbox page for a minute, TwinBridge and tipg side by
side, one worker process each.

    .venv/bin/python bench/load_postgis.py [--duration 60] [--connections 200] [--count 100000]
                                           [--no-peer]

What the issue asks of TwinBridge under overload: no request over 2 s (it sheds what it
cannot serve in time: 503 with Retry-After), every shed answer within 50 ms (as the server
measured it), memory flat. wrk runs with a 30 s timeout so that slow answers are measured,
not dropped. tipg (the peer, `pip install -e '.[bench]'`) serves the same table with its own
pool and no shedding: the ratio row compares throughput of successful answers, and the
latency columns show what queueing without a bound costs. Results go to
bench/results/load_postgis.json. The test suite runs the TwinBridge half for a few seconds
(tests/test_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import asdict
from functools import partial
from pathlib import Path

import common
import yaml
from common import BIN, Process, console
from features_postgis import BBOX, ITEMS, ensure_trees, twinbridge_config
from load import Load, measure
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "load_postgis.json"
ROUTE = {"TwinBridge": "/{tenant}/collections/{cid}/items"}


def command(server: str, port: int, *, args: argparse.Namespace, tmp: Path) -> list[str]:
    if server == "TwinBridge":
        config = tmp / "twinbridge.yaml"
        config.write_text(yaml.safe_dump(twinbridge_config(args), sort_keys=False))
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "error"]
    cmd = [str(BIN / "uvicorn"), "tipg.main:app", "--port", str(port), "--workers", "1"]
    return [*cmd, "--log-level", "error", "--no-access-log"]


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    asyncio.run(ensure_trees(f"postgresql://{args.user}@{args.host}:{args.port}/postgres",
                             args.database, args.count))  # fmt: skip
    servers = ["TwinBridge"] if args.no_peer else ["TwinBridge", "tipg"]
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    bbox = ",".join(str(v) for v in BBOX)
    results: dict[str, Load] = {}
    for server in servers:
        launch = partial(command, server, args=args, tmp=tmp)
        base = common.launch(server, tmp, procs, launch, f"{ITEMS[server]}?limit=1", env)
        path = f"{ITEMS[server]}?limit=10&bbox={bbox}"
        route = ROUTE.get(server, "-")
        results[server] = measure(base, path, route, procs[-1].pid, args.duration, args.connections)
        common.stop(procs.pop())
    show(results)
    common.save_results(
        RESULTS,
        {"duration_s": args.duration, "connections": args.connections, "rows": args.count},
        ("twinbridge", "asyncpg", "tipg") if "tipg" in results else ("twinbridge", "asyncpg"),
        [{"server": s, **asdict(r), "rps": r.rps} for s, r in results.items()],
    )


def show(results: dict[str, Load]) -> None:
    table = Table(title="bbox page (limit=10) under load")
    for column in ("server", "req/s", "200/s", "503", "other", "p50 ms", "p99 ms", "max ms",
                   "503 ≤ 50 ms", "RSS MB before → after"):  # fmt: skip
        table.add_column(column, justify="right")
    for server, r in results.items():
        ok = r.statuses.get(200, 0)
        other = sum(n for s, n in r.statuses.items() if s not in (200, 503)) + r.socket_errors
        shed = f"{r.shed_within_50ms}/{r.shed}" if server == "TwinBridge" else "–"
        table.add_row(
            server, f"{r.rps:.0f}", f"{ok / r.seconds:.0f}", str(r.statuses.get(503, 0)),
            str(other), f"{r.p50_ms:.0f}", f"{r.p99_ms:.0f}", f"{r.max_ms:.0f}", shed,
            f"{r.rss_before_mb:.0f} → {r.rss_after_mb:.0f}",
        )  # fmt: skip
    console.print(table)
    if "tipg" in results:
        ours, theirs = results["TwinBridge"], results["tipg"]
        ratio = ours.statuses.get(200, 0) / max(1, theirs.statuses.get(200, 0))
        console.print(f"TwinBridge/tipg, successful answers per second: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=200, help="wrk connections")
    parser.add_argument("--count", type=int, default=100_000, help="trees in the table")
    parser.add_argument("--no-peer", action="store_true", help="TwinBridge only")
    parser.add_argument("--database", default="twinbridge_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-load-")


if __name__ == "__main__":
    main()
