"""Benchmark: TwinBridge's `pygeoapi` connector vs pygeoapi itself, both over pygeoapi's
PostgreSQL provider on the same 100,000 trees in PostGIS, one worker process each.

    .venv/bin/python bench/pygeoapi_adapter.py [--duration 8] [--connections 8] [--rounds 1]

Loads the trees as features_postgis.py does (database `twinbridge_bench`, only when missing),
starts pygeoapi 0.21 (gunicorn, one worker, the provider block of features_postgis.py) and
`twinbridge serve --workers 1` with the collection `bench/trees` from `connector: pygeoapi`
with the very same provider block (mapped onto the street-trees profile by plain renames).
Requests: `limit=100`, a 0.05° bbox (pushed to the provider by both), `offset=90000`, the
CQL2 filter `planting_year > 2000 AND district = 'Altona'` (TwinBridge hands the provider a
pygeofilter tree, pygeoapi parses cql-text into one) and an item by id. Each answer is
checked first (200, the expected number of features, the same ids from both); then
`wrk -t1 -cC -dDs` on each server in turn (a starred figure had socket errors, usually wrk's
2 s timeout on a slow answer). Requests/s and the ratio TwinBridge/pygeoapi are
printed and written to bench/results/pygeoapi_adapter.json. The issue's bar: the adapter
is not slower than pygeoapi serving the same provider (every ratio ≥ 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import common
import features_postgis as fp
import yaml
from common import BIN, Process, console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "pygeoapi_adapter.json"
SERVERS = ("TwinBridge", "pygeoapi")
ITEMS = {"TwinBridge": "/bench/collections/trees/items", "pygeoapi": "/collections/trees/items"}


@dataclass
class Row:
    request: str
    rps: dict[str, float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    ratio: float | None = None  # TwinBridge / pygeoapi


def provider(args: argparse.Namespace) -> dict[str, Any]:
    """The provider block both servers use (features_postgis.py's, for pygeoapi)."""
    data = {"host": args.host, "port": args.port, "dbname": args.database, "user": args.user}
    return {
        "name": "PostgreSQL",
        "data": {**data, "password": "", "search_path": ["public"]},
        "id_field": "fid",
        "table": "trees",
        "geom_field": "geom",
    }


def twinbridge_config(args: argparse.Namespace) -> dict[str, Any]:
    doc = fp.twinbridge_config(args)
    collection = doc["tenants"]["bench"]["collections"]["trees"]
    collection["source"] = {"connector": "pygeoapi", "provider": provider(args)}
    return doc


def server_command(
    server: str, port: int, *, args: argparse.Namespace, tmp: Path, env: dict[str, str]
) -> list[str]:
    if server == "pygeoapi":
        return fp.pygeoapi_postgres(args, tmp, port, env)
    config = tmp / "twinbridge.yaml"
    config.write_text(yaml.safe_dump(twinbridge_config(args), sort_keys=False))
    cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config)]
    return [*cmd, "--port", str(port), "--workers", "1", "--log-level", "warning"]


def measure(
    requests: list[fp.Request], bases: dict[str, str], args: argparse.Namespace
) -> list[Row]:
    rows = []
    for r in requests:
        row, urls, reference = Row(r.label), {}, None
        for server in SERVERS:
            url = f"{bases[server]}{ITEMS[server]}{r.queries[server]}"
            ids, problem = fp.check(url, r.expected)
            if problem:
                row.problems[server] = problem
                continue
            if reference is None:
                reference = ids
            elif sorted(ids) != sorted(reference):
                row.problems[server] = "other features than pygeoapi's"
            urls[server] = url
            common.wrk(url, 1, args.connections)  # warm-up
        runs: dict[str, list[float]] = {server: [] for server in urls}
        for round_ in range(args.rounds):
            order = list(urls) if round_ % 2 == 0 else list(reversed(urls))
            for server in order:
                rps, problems = common.wrk(urls[server], args.duration, args.connections)
                runs[server].append(rps)
                if problems:
                    row.problems[server] = problems
        row.rps = {server: statistics.median(values) for server, values in runs.items()}
        ours, theirs = row.rps.get("TwinBridge"), row.rps.get("pygeoapi")
        broken = any("non-2xx" in p or "features" in p for p in row.problems.values())
        row.ratio = ours / theirs if ours and theirs and not broken else None
        rows.append(row)
    return rows


def report(rows: list[Row], args: argparse.Namespace) -> None:
    table = Table(
        title=f"{args.count:,} trees, pygeoapi's PostgreSQL provider, one worker each, "
        f"wrk -t1 -c{args.connections} -d{args.duration}s, median of {args.rounds} (requests/s)"
    )
    for column in ("request", *SERVERS, "TB/pygeoapi"):
        table.add_column(column, justify="left" if column == "request" else "right")
    for row in rows:
        cells = [
            f"{row.rps[s]:,.1f}" + "*" * (s in row.problems)
            if s in row.rps
            else "[red]FAILED[/red]"
            for s in SERVERS
        ]
        table.add_row(row.request, *cells, "–" if row.ratio is None else f"{row.ratio:.2f}×")
    console.print(table)
    for row in rows:
        for server, problem in row.problems.items():
            console.print(f"[yellow]* {row.request} – {server}: {problem}[/yellow]", soft_wrap=True)
    packages = ("twinbridge", "pygeoapi", "sqlalchemy", "psycopg2-binary", "gunicorn", "uvicorn")
    settings = {"trees": args.count, "duration_s": args.duration}
    settings |= {"connections": args.connections, "rounds": args.rounds}
    common.save_results(RESULTS, settings, packages, [asdict(r) for r in rows])


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(fp.ensure_trees(dsn, args.database, args.count))
    bases = {}
    for server in SERVERS:
        env = dict(os.environ)
        command = partial(server_command, server, args=args, tmp=tmp, env=env)
        bases[server] = common.launch(server, tmp, procs, command, f"{ITEMS[server]}?limit=1", env)
    requests = fp.requests_for(*asyncio.run(fp.expected_counts(args)))
    report(measure(requests, bases, args), args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=1, help="wrk runs per server (median)")
    parser.add_argument("--count", type=int, default=100_000, help="trees in the table")
    parser.add_argument("--database", default="twinbridge_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-pygeoapi-")


if __name__ == "__main__":
    main()
