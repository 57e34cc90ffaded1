"""Benchmark: the latency TwinBridge adds in front of an upstream OGC API – Features server:
TwinBridge's `oapif` connector over tipg vs tipg directly, on the 100,000 trees in PostGIS.

    .venv/bin/python bench/features_oapif.py [--duration 8] [--connections 1,4]

Loads the trees into `twinbridge_bench` (as features_postgis.py does, only when missing),
starts tipg (uvicorn, one worker) on the table and `twinbridge serve --workers 1` with the
collection `bench/trees` from the `oapif` connector over tipg's `public.trees` (connector
defaults: filter, sortby and properties pushed as tipg declares them, pages of up to 1,000).
Requests (as in features_postgis.py): `limit=100`, a 0.05° bbox in central Hamburg, the CQL2
filter `planting_year > 2000 AND district = 'Altona'` (pushed to tipg), an item by id and
the deep page each server's own `next` link gives after offset 89,900 (TwinBridge sends
tipg an `offset`, as tipg's links page by offset).
Each answer of TwinBridge is checked against tipg's first (the same ids in the same order,
coordinates, properties). Then `wrk -t1 -cC -dDs --latency` for each connection count in
`--connections` (low concurrency: latency, not throughput, is the point), the two servers
one after the other; the table gives p50 and p99 as wrk saw them, the p50 TwinBridge adds
in % (the issue's target: at most 15 %), and each server's CPU time per request (user +
system of its process, from /proc: what the hop costs, whatever else runs on the machine).
Written to bench/results/features_oapif.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import common
import features_postgis
import httpx
import memory_postgis
import yaml
from common import BIN, Process, console
from features_wfs import PROPERTIES
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "features_oapif.json"
SERVERS = ("TwinBridge", "tipg")
TARGET = 0.15  # the p50 TwinBridge may add, as a fraction of tipg's
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Row:
    request: str
    connections: int
    p50_ms: dict[str, float] = field(default_factory=dict)
    p99_ms: dict[str, float] = field(default_factory=dict)
    rps: dict[str, float] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # server CPU time per request
    problems: dict[str, str] = field(default_factory=dict)
    added_p50: float | None = None  # TwinBridge's p50 / tipg's - 1


def tipg_command(args: argparse.Namespace, env: dict[str, str], port: int) -> list[str]:
    env["DATABASE_URL"] = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    cmd = [str(BIN / "uvicorn"), "tipg.main:app", "--port", str(port), "--workers", "1"]
    return [*cmd, "--log-level", "warning", "--no-access-log"]


def twinbridge_config(upstream: str, **source: Any) -> dict[str, Any]:
    """`bench/trees` from the oapif connector over `upstream` (a collection URL), mapped
    onto the street-trees profile; the ids are the upstream's own (tipg: the primary key)."""
    collection = {
        "profile": "street-trees",
        "source": {"connector": "oapif", "url": upstream, **source},
        "mapping": {"properties": {p: p for p in PROPERTIES}},
    }
    return {
        "server": {"default_limit": 10, "max_limit": 10000},
        "tenants": {"bench": {"collections": {"trees": collection}}},
    }


def start_twinbridge(doc: dict[str, Any], tmp: Path, procs: list[Process]) -> str:
    config = tmp / "twinbridge.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))

    def command(port: int) -> list[str]:
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]

    return common.launch(
        "TwinBridge", tmp, procs, command, "/bench/collections/trees/items?limit=1"
    )


def requests_for(tb: str, tipg: str) -> dict[str, dict[str, str]]:
    bbox = ",".join(str(v) for v in features_postgis.BBOX)
    year, district = features_postgis.FILTER_YEAR, features_postgis.FILTER_DISTRICT
    cql = quote(f"planting_year > {year} AND district = '{district}'")
    queries = {
        "limit=100": "?limit=100",
        "bbox, limit=100": f"?limit=100&bbox={bbox}",
        "CQL2, limit=100": f"?limit=100&filter-lang=cql2-text&filter={cql}",
        "item by id": f"/{features_postgis.ITEM_ID}",
    }
    items = {
        "TwinBridge": f"{tb}/bench/collections/trees/items",
        "tipg": f"{tipg}/collections/public.trees/items",
    }
    rows = {label: {s: items[s] + q for s in SERVERS} for label, q in queries.items()}
    # the deep page a client reaches: each server's own next link after offset 89,900
    rows["next link at 90,000"] = {
        s: next_link(f"{items[s]}?limit=100&offset=89900") for s in SERVERS
    }
    return rows


def next_link(url: str) -> str:
    doc = httpx.get(url, timeout=120, headers={"Accept": "application/geo+json"}).json()
    found = next((lk["href"] for lk in doc.get("links", []) if lk["rel"] == "next"), None)
    if found is None:
        sys.exit(f"no next link in {url}")
    return str(found)


def features(url: str) -> tuple[list[Any], str]:
    response = httpx.get(url, timeout=60, headers={"Accept": "application/geo+json"})
    if response.status_code != 200:
        return [], f"HTTP {response.status_code}: {response.text[:160]}"
    doc = response.json()
    found = [doc] if doc.get("type") == "Feature" else doc["features"]
    return [
        (str(f["id"]), f["geometry"], {p: f["properties"].get(p) for p in PROPERTIES})
        for f in found
    ], ""


def check(urls: dict[str, str]) -> str:
    """'' when TwinBridge answers as tipg does (same features in the same order)."""
    ours, problem = features(urls["TwinBridge"])
    if problem:
        return f"TwinBridge: {problem}"
    theirs, problem = features(urls["tipg"])
    if problem:
        return f"tipg: {problem}"
    if not ours or [f[0] for f in ours] != [f[0] for f in theirs]:
        return f"other ids: {len(ours)} features vs tipg's {len(theirs)}"
    for a, b in zip(ours, theirs, strict=True):
        if a != b:
            return f"feature {a[0]} differs: {a[1:]} vs {b[1:]}"
    return ""


def wrk_latency(url: str, duration: int, connections: int) -> tuple[float, float, int, str]:
    """p50 and p99 in ms, the number of requests answered, and the problems wrk saw."""
    cmd = ["wrk", "--latency", "-t1", f"-c{connections}", f"-d{duration}s", url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout

    def percentile(p: str) -> float:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found is None:
            sys.exit(f"cannot parse wrk output:\n{out}")
        return float(found.group(1)) * UNITS[found.group(2)]

    done = re.search(r"(\d+) requests in", out)
    problems = [m.group(0).strip() for m in re.finditer(r"(Non-2xx.*|Socket errors:.*)", out)]
    return (
        percentile("50"),
        percentile("99"),
        int(done.group(1)) if done else 0,
        "; ".join(problems),
    )


def cpu_seconds(proc: Process) -> float:
    """User + system CPU time of the server's process and its children so far."""
    total = 0.0
    for pid in memory_postgis.processes(proc.pid):
        with contextlib.suppress(FileNotFoundError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure(
    requests: dict[str, dict[str, str]], servers: dict[str, Process], args: argparse.Namespace
) -> list[Row]:
    rows = []
    for label, urls in requests.items():
        problem = check(urls)
        for connections in args.connections:
            row = Row(label, connections)
            if problem:
                row.problems["TwinBridge"] = problem
                rows.append(row)
                continue
            for server in SERVERS:
                wrk_latency(urls[server], 1, connections)  # warm-up
            for server in SERVERS:
                cpu = cpu_seconds(servers[server])
                p50, p99, done, trouble = wrk_latency(urls[server], args.duration, connections)
                cpu = cpu_seconds(servers[server]) - cpu
                row.p50_ms[server], row.p99_ms[server] = p50, p99
                row.rps[server] = done / args.duration
                row.cpu_ms[server] = 1000 * cpu / done if done else 0.0
                if trouble:
                    row.problems[server] = trouble
            if not row.problems:
                row.added_p50 = row.p50_ms["TwinBridge"] / row.p50_ms["tipg"] - 1
            rows.append(row)
    return rows


def report(rows: list[Row], args: argparse.Namespace) -> None:
    table = Table(
        title="TwinBridge (oapif) over tipg vs tipg, 100,000 trees, one worker each, "
        f"wrk -t1 -d{args.duration}s --latency (latency and CPU time per request in ms)"
    )
    for name in ("request", "conns", "tipg p50", "TB p50", "added p50", "tipg p99", "TB p99",
                 "tipg req/s", "TB req/s", "tipg CPU/req", "TB CPU/req"):  # fmt: skip
        table.add_column(name, justify="left" if name == "request" else "right")
    for row in rows:
        if row.added_p50 is None:
            table.add_row(row.request, str(row.connections), "[red]FAILED[/red]")
            continue
        colour = "green" if row.added_p50 <= TARGET else "red"
        table.add_row(
            row.request,
            str(row.connections),
            f"{row.p50_ms['tipg']:.1f}",
            f"{row.p50_ms['TwinBridge']:.1f}",
            f"[{colour}]{row.added_p50:+.0%}[/{colour}]",
            f"{row.p99_ms['tipg']:.1f}",
            f"{row.p99_ms['TwinBridge']:.1f}",
            f"{row.rps['tipg']:.0f}",
            f"{row.rps['TwinBridge']:.0f}",
            f"{row.cpu_ms['tipg']:.1f}",
            f"{row.cpu_ms['TwinBridge']:.1f}",
        )
    console.print(table)
    for row in rows:
        for server, problem in row.problems.items():
            console.print(f"[yellow]* {row.request} -c{row.connections} – {server}: {problem}")
    measured = [r.added_p50 for r in rows if r.added_p50 is not None]
    met = len(measured) == len(rows) and max(measured) <= TARGET
    verdict = "[green]met[/green]" if met else "[red]NOT met[/red]"
    console.print(f"target: TwinBridge adds at most {TARGET:.0%} to tipg's p50: {verdict}")
    settings = {"trees": 100_000, "duration_s": args.duration, "connections": args.connections}
    packages = ("twinbridge", "tipg", "httpx", "uvicorn", "orjson")
    common.save_results(RESULTS, settings, packages, [asdict(r) for r in rows])


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(features_postgis.ensure_trees(dsn, args.database, 100_000))
    env = dict(os.environ)
    tipg = common.launch(
        "tipg", tmp, procs, lambda port: tipg_command(args, env, port),
        "/collections/public.trees/items?limit=1", env,
    )  # fmt: skip
    tb = start_twinbridge(twinbridge_config(f"{tipg}/collections/public.trees"), tmp, procs)
    servers = dict(zip(SERVERS, (procs[1], procs[0]), strict=True))
    report(measure(requests_for(tb, tipg), servers, args), args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument(
        "--connections",
        type=lambda text: [int(c) for c in text.split(",") if c],
        default=[1, 4],
        help="comma-separated wrk connection counts (default 1,4)",
    )
    parser.add_argument("--database", default="twinbridge_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-oapif-")


if __name__ == "__main__":
    main()
