"""Benchmark: 10 million Observations in the PostgreSQL SensorThings store, TwinBridge
against a bare FastAPI + asyncpg endpoint running the same SQL (bench/bare_sta.py), with 1
and 2 worker processes each.

    .venv/bin/python bench/sta_postgres.py [--duration 8] [--connections 8] [--rounds 1]
                                           [--workers 1,2] [--streams 1000]
                                           [--per-stream 10000]

Loads the Observations (bench/sta_data.py: SQL generate_series into the store's own schema
`sta` of the database `twinbridge_bench_sta`, only when missing or of another size), then
for each worker count starts both servers on free ports, checks that both answer each
request with 200 and the same document (the base URLs aside: same entities, same values,
same nextLink), and measures requests/s and the 99th percentile latency with
`wrk -t1 -cC -dDs --latency`, one server after the other (`--rounds N`: N turns in
rotating order, the median kept). Prints the table with the ratio TwinBridge/bare (the
target is at least 0.8×) and the load average before and after (the machine is shared),
and writes bench/results/sta_postgres.json.

What each does besides the SQL: TwinBridge parses the OData options, runs a read in one
`REPEATABLE READ READ ONLY` transaction, and goes through its middleware (request id, log
line, metrics, limits, HTTP caching headers); the bare endpoint runs the two statements on a
pooled connection and writes the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import common
import httpx
import sta_data
import yaml
from common import BIN, Process, console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "sta_postgres.json"
STA = "/bench/sta/v1.1"
SERVERS = ("TwinBridge", "bare")
DAY = "phenomenonTime ge 2026-03-01T00:00:00Z and phenomenonTime lt 2026-03-02T00:00:00Z"
REQUESTS = {
    "Observations?$top=100": "/Observations?$top=100",
    "Datastreams(1)/Observations, latest 100": (
        "/Datastreams(1)/Observations?$top=100&$orderby=phenomenonTime desc"
    ),
    "Datastreams(7)/Observations, one day": f"/Datastreams(7)/Observations?$filter={DAY}&$top=100",
}
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Row:
    request: str
    workers: int
    rps: dict[str, float] = field(default_factory=dict)
    p99_ms: dict[str, float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    ratio: float | None = None


def url_of(base: str, query: str) -> str:
    return base + STA + quote(query, safe="/?&=$(),:'")


def server_command(
    server: str, port: int, *, workers: int, dsn: str, tmp: Path, env: dict[str, str]
) -> list[str]:
    if server == "TwinBridge":
        store = {"kind": "postgres", "dsn": dsn, "schema": sta_data.SCHEMA}
        config = tmp / "twinbridge.yaml"
        doc = {"tenants": {"bench": {"sensorthings": {"store": store}}}}
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config), "--port", str(port)]
        return [*cmd, "--workers", str(workers), "--log-level", "warning"]
    env["BARE_DSN"] = dsn
    cmd = [str(BIN / "uvicorn"), "bare_sta:app", "--port", str(port), "--workers", str(workers)]
    return [*cmd, "--log-level", "warning", "--no-access-log", "--app-dir", str(ROOT / "bench")]


def start_servers(
    args: argparse.Namespace, dsn: str, workers: int, tmp: Path, procs: list[Process]
) -> dict[str, str]:
    bases = {}
    for server in SERVERS:
        env = dict(os.environ)
        command = partial(server_command, server, workers=workers, dsn=dsn, tmp=tmp, env=env)
        ready = f"{STA}/Observations?$top=1"
        bases[server] = common.launch(f"{server}-{workers}", tmp, procs, command, ready, env)
    return bases


def answer(url: str, base: str) -> tuple[Any, str]:
    """The document with the server's base URL taken out, or a problem."""
    try:
        response = httpx.get(url, timeout=60)
    except httpx.HTTPError as e:
        return None, f"{type(e).__name__}: {e}"
    if response.status_code != 200:
        return None, f"HTTP {response.status_code}: {response.text[:160]}"
    doc = response.json()
    if len(doc.get("value", [])) != 100:
        return None, f"{len(doc.get('value', []))} Observations, expected 100"
    return json.loads(response.text.replace(base, "BASE")), ""


def wrk_latency(url: str, duration: int, connections: int) -> tuple[float, float, str]:
    """Requests/s, the 99th percentile latency in ms and the problems wrk saw."""
    cmd = ["wrk", "--latency", "-t1", f"-c{connections}", f"-d{duration}s", url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if rps is None or p99 is None:
        sys.exit(f"cannot parse wrk output:\n{out}")
    problems = []
    if non2xx := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        problems.append(f"{non2xx.group(1)} non-2xx")
    if errors := re.search(r"Socket errors:.*", out):
        problems.append(errors.group(0).strip())
    return float(rps.group(1)), float(p99.group(1)) * UNITS[p99.group(2)], "; ".join(problems)


def measure(args: argparse.Namespace, bases: dict[str, str], workers: int) -> list[Row]:
    rows = []
    for label, query in REQUESTS.items():
        row = Row(label, workers)
        docs = {}
        for server in SERVERS:
            docs[server], problem = answer(url_of(bases[server], query), bases[server])
            if problem:
                row.problems[server] = problem
        if not row.problems and docs["TwinBridge"] != docs["bare"]:
            row.problems["bare"] = "answers differ from TwinBridge's"
        if row.problems:
            rows.append(row)
            continue
        runs: dict[str, list[tuple[float, float]]] = {s: [] for s in SERVERS}
        for server in SERVERS:
            wrk_latency(url_of(bases[server], query), 1, args.connections)  # warm-up
        for round_ in range(args.rounds):
            order = SERVERS[round_ % 2 :] + SERVERS[: round_ % 2]
            for server in order:
                url = url_of(bases[server], query)
                rps, p99, problems = wrk_latency(url, args.duration, args.connections)
                runs[server].append((rps, p99))
                if problems:
                    row.problems[server] = problems
        for server, values in runs.items():
            row.rps[server] = statistics.median(v[0] for v in values)
            row.p99_ms[server] = statistics.median(v[1] for v in values)
        row.ratio = row.rps["TwinBridge"] / row.rps["bare"]
        rows.append(row)
    return rows


def report(rows: list[Row], args: argparse.Namespace, loads: list[str]) -> None:
    table = Table(
        title=f"{args.streams * args.per_stream:,} Observations in PostgreSQL, "
        f"wrk -t1 -c{args.connections} -d{args.duration}s, median of {args.rounds}"
    )
    for name in ("request", "workers", "TwinBridge req/s", "p99 ms", "bare req/s", "p99 ms"):
        table.add_column(name, justify="left" if name == "request" else "right")
    table.add_column("TB/bare", justify="right")
    for row in rows:
        if "TwinBridge" not in row.rps:
            table.add_row(row.request, str(row.workers), "[red]FAILED[/red]", *["–"] * 4)
            continue
        cells = []
        for server in SERVERS:
            star = "*" * (server in row.problems)
            cells += [f"{row.rps[server]:,.0f}{star}", f"{row.p99_ms[server]:.1f}"]
        table.add_row(row.request, str(row.workers), *cells, f"{row.ratio:.2f}×")
    console.print(table)
    console.print(f"load average (1, 5, 15 min) before: {loads[0]}, after: {loads[1]}")
    for row in rows:
        for server, problem in row.problems.items():
            console.print(f"[yellow]* {row.request} ({row.workers}) – {server}: {problem}[/yellow]")
    settings = {"observations": args.streams * args.per_stream, "datastreams": args.streams}
    settings |= {"duration_s": args.duration, "connections": args.connections}
    settings |= {"rounds": args.rounds, "load_average": loads}
    packages = ("twinbridge", "asyncpg", "uvicorn", "fastapi")
    common.save_results(RESULTS, settings, packages, [asdict(r) for r in rows])


def load_average() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    admin = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    dsn = asyncio.run(
        sta_data.ensure_observations(
            admin, args.database, args.streams, args.per_stream, console.print
        )
    )
    loads = [load_average()]
    rows: list[Row] = []
    for workers in (int(w) for w in args.workers.split(",")):
        bases = start_servers(args, dsn, workers, tmp, procs)
        rows += measure(args, bases, workers)
        while procs:
            common.stop(procs.pop())
    loads.append(load_average())
    report(rows, args, loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=1, help="wrk runs per server (median)")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--streams", type=int, default=1000, help="Datastreams")
    parser.add_argument("--per-stream", type=int, default=10_000, help="Observations each")
    parser.add_argument("--database", default="twinbridge_bench_sta")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-sta-")


if __name__ == "__main__":
    main()
