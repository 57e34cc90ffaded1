"""Benchmark: 100,000 street trees in PostGIS through TwinBridge, pygeoapi, tipg and a bare
reference endpoint, side by side, one worker process each.

    .venv/bin/python bench/features_postgis.py [--duration 8] [--connections 8] [--rounds 1]
                                               [--count 100000] [--servers TwinBridge,bare]
                                               [--workers 1,2]

Loads the trees with scripts/load_postgis_trees.py into the database `twinbridge_bench`
(only when the table is missing or holds another number of rows), starts the four servers
on free ports, checks that each answers every request with 200 and the expected number of
features, then measures requests/s with `wrk -t1 -cC -dDs`, one server after the other for
each request (`--rounds N`: N turns in rotating order, the median kept). The table is
printed and written to bench/results/features_postgis.json.

Requests (limit=100 each; the CQL2 filter is `planting_year > 2000 AND district = 'Altona'`,
sent as cql-text to pygeoapi 0.21, which refuses cql2-text, and as two plain parameters to
the bare endpoint). What each server does besides: TwinBridge maps every feature onto the
street-trees profile and counts only when cheap (numberMatched up to the connector's
count_limit, else omitted); pygeoapi and tipg count every match on every request; the
bare endpoint never counts. The two "next at 90,000" rows request what each server's own
`next` link says after the page at offset 89,900 (TwinBridge: a keyset cursor; pygeoapi and
tipg: an offset; bare: offset 90,000, and it cannot sort: –). A starred figure had
socket errors (usually wrk's 2 s timeout on a slow server); FAILED means non-2xx answers or
a failed check. The machine is shared with wrk and PostgreSQL, so compare ratios from one
run; the load average before and after is printed and saved with the figures.

`--servers` measures a subset. `--workers 1,2` measures scaling instead: TwinBridge and the
bare endpoint with 1, then 2 worker processes each (uvicorn's workers on one socket), and
prints per request both servers' requests/s, each one's 2-worker/1-worker ratio, and
TwinBridge's ratio over bare's: how much of what the machine gives a second worker
TwinBridge turns into throughput (bench/results/features_postgis_scaling.json).

TwinBridge's data catalog computes its figures in the background (30 s after start-up, then
every 15 minutes), reading all 100,000 trees in every worker; this benchmark measures the
request path, so its TwinBridge starts that walk only after a day.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import common
import httpx
import scaling
import yaml
from common import BIN, Process, console
from rich.table import Table
from scaling import load_average

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "features_postgis.json"
SERVERS = ("TwinBridge", "pygeoapi", "tipg", "bare")
PEERS = ("pygeoapi", "tipg", "bare")
ITEMS = {
    "TwinBridge": "/bench/collections/trees/items",
    "pygeoapi": "/collections/trees/items",
    "tipg": "/collections/public.trees/items",
    "bare": "/collections/trees/items",
}
BBOX = (9.95, 53.55, 10.0, 53.6)  # central Hamburg, ~0.05°: thousands of trees
FILTER_YEAR, FILTER_DISTRICT = 2000, "Altona"
ITEM_ID = 54321


@dataclass
class Request:
    label: str
    expected: int  # features in the answer
    queries: dict[str, str]  # server -> path and query after the server's base URL


@dataclass
class Row:
    request: str
    rps: dict[str, float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # server -> why not measured/2xx
    ratios: dict[str, float | None] = field(default_factory=dict)  # "TwinBridge/<peer>"


# --- data and servers --------------------------------------------------------------------


async def ensure_trees(dsn: str, database: str, count: int) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import load_postgis_trees as loader

    await loader.ensure_database(dsn, database)
    conn = await asyncpg.connect(loader.with_database(dsn, database))
    try:
        exists = await conn.fetchval("SELECT to_regclass('public.trees') IS NOT NULL")
        rows = await conn.fetchval("SELECT count(*) FROM trees") if exists else None
        if rows != count:
            console.print(f"loading {count:,} trees into {database} …")
            await loader.load_table(conn, loader.tree_rows(count), table="trees", srid=4326)
    finally:
        await conn.close()


def twinbridge_config(args: argparse.Namespace) -> dict[str, Any]:
    properties = [
        "species_scientific", "species_german", "genus", "planting_year", "height_m",
        "crown_diameter_m", "trunk_circumference_cm", "district", "street", "last_update",
    ]  # fmt: skip
    source = {
        "connector": "postgis",
        **{"host": args.host, "port": args.port, "user": args.user, "database": args.database},
        "table": "trees",
    }
    collection = {
        "profile": "street-trees",
        "source": source,
        "mapping": {"id": "fid", "properties": {p: p for p in properties}},
    }
    return {
        "server": {
            **{"default_limit": 10, "max_limit": 10000},
            "catalog": {"first_delay_seconds": 86400},  # the request path, not the walk
        },
        "tenants": {"bench": {"collections": {"trees": collection}}},
    }


def start_servers(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> dict[str, str]:
    bases = {}
    for server in args.servers:
        env = dict(os.environ)
        command = partial(server_command, server, args=args, tmp=tmp, env=env)
        bases[server] = common.launch(server, tmp, procs, command, f"{ITEMS[server]}?limit=1", env)
    return bases


def server_command(
    server: str, port: int, *, args: argparse.Namespace, tmp: Path, env: dict[str, str]
) -> list[str]:
    if server == "TwinBridge":
        config = tmp / "twinbridge.yaml"
        config.write_text(yaml.safe_dump(twinbridge_config(args), sort_keys=False))
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config)]
        workers = str(args.worker_count)
        return [*cmd, "--port", str(port), "--workers", workers, "--log-level", "warning"]
    if server == "pygeoapi":
        return pygeoapi_postgres(args, tmp, port, env)
    app = "tipg.main:app" if server == "tipg" else "bare_reference:app"
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    env.update(DATABASE_URL=dsn, BARE_DSN=dsn)
    workers = str(args.worker_count if server == "bare" else 1)
    cmd = [str(BIN / "uvicorn"), app, "--port", str(port), "--workers", workers]
    return [*cmd, "--log-level", "warning", "--no-access-log", "--app-dir", str(ROOT / "bench")]


def pygeoapi_postgres(
    args: argparse.Namespace, tmp: Path, port: int, env: dict[str, str]
) -> list[str]:
    """pygeoapi's PostgreSQL provider on the same table."""
    doc = common.pygeoapi_config(port, tmp / "unused.geojson", [9.8, 53.4, 10.3, 53.7])
    doc["resources"]["trees"]["providers"] = [
        {
            "type": "feature",
            "name": "PostgreSQL",
            "data": {
                **{"host": args.host, "port": args.port, "dbname": args.database},
                **{"user": args.user, "password": "", "search_path": ["public"]},
            },
            "id_field": "fid",
            "table": "trees",
            "geom_field": "geom",
        }
    ]
    return common.pygeoapi_command(doc, tmp, port, 1, env)


# --- requests and checks ---------------------------------------------------------------


def requests_for(expected_bbox: int, expected_filter: int) -> list[Request]:
    bbox = ",".join(str(v) for v in BBOX)
    cql = quote(f"planting_year > {FILTER_YEAR} AND district = '{FILTER_DISTRICT}'")
    same = dict.fromkeys(SERVERS, "")

    def each(query: str, **special: str) -> dict[str, str]:
        return {s: special.get(s, query) for s in same}

    return [
        Request("limit=100", 100, each("?limit=100")),
        Request("bbox, limit=100", expected_bbox, each(f"?limit=100&bbox={bbox}")),
        Request("offset=90000", 100, each("?limit=100&offset=90000")),
        Request(
            "CQL2, limit=100",
            expected_filter,
            each(
                f"?limit=100&filter-lang=cql2-text&filter={cql}",
                pygeoapi=f"?limit=100&filter-lang=cql-text&filter={cql}",
                bare=f"?limit=100&planting_year_gt={FILTER_YEAR}&district={FILTER_DISTRICT}",
            ),
        ),
        Request("item by id", 1, each(f"/{ITEM_ID}")),
    ]


async def expected_counts(args: argparse.Namespace) -> tuple[int, int]:
    conn = await asyncpg.connect(host=args.host, port=args.port, user=args.user,
                                 database=args.database)  # fmt: skip
    try:
        box = "geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)"
        in_box = await conn.fetchval(f"SELECT count(*) FROM trees WHERE {box}", *BBOX)
        sql = "SELECT count(*) FROM trees WHERE planting_year > $1 AND district = $2"
        filtered = await conn.fetchval(sql, FILTER_YEAR, FILTER_DISTRICT)
    finally:
        await conn.close()
    return min(100, in_box), min(100, filtered)


def next_link_rows(bases: dict[str, str]) -> list[Request]:
    """Deep pages as a client reaches them: the `next` link each server gives on the page at
    offset 89,900 (TwinBridge's carries a keyset cursor, the peers' an offset). The bare
    endpoint has no links (offset 90,000) and cannot sort."""
    rows = []
    for label, sort in (
        ("next link at 90,000", ""),
        ("sorted, next at 90,000", "&sortby=-height_m"),
    ):
        queries = {}
        for server in bases:
            if server == "bare":
                if not sort:
                    queries[server] = "?limit=100&offset=90000"
                continue
            url = f"{bases[server]}{ITEMS[server]}?limit=100&offset=89900{sort}"
            doc = httpx.get(url, timeout=120, headers={"Accept": "application/geo+json"}).json()
            href = next((lk["href"] for lk in doc.get("links", []) if lk["rel"] == "next"), None)
            if href is not None:
                queries[server] = href.split(ITEMS[server], 1)[1]
        rows.append(Request(label, 100, queries))
    return rows


def check(url: str, expected: int) -> tuple[list[Any], str]:
    """Feature ids of a 200 answer with `expected` features; else a problem description."""
    try:
        response = httpx.get(url, timeout=60, headers={"Accept": "application/geo+json"})
    except httpx.HTTPError as e:
        return [], f"{type(e).__name__}: {e}"
    if response.status_code != 200:
        return [], f"HTTP {response.status_code}: {response.text[:160]}"
    doc = response.json()
    features = [doc] if doc.get("type") == "Feature" else doc.get("features", [])
    if len(features) != expected:
        return [], f"{len(features)} features, expected {expected}"
    return [str(f.get("id")) for f in features], ""


# --- measuring and reporting ---------------------------------------------------------------


def measure(requests: list[Request], bases: dict[str, str], args: argparse.Namespace) -> list[Row]:
    """Check each server, then run wrk on each in turn, `rounds` times in rotating order;
    the median of the rounds is kept, so a burst of load elsewhere hits one round."""
    rows = []
    for r in requests:
        row, urls, reference = Row(r.label), {}, None
        for server in bases:
            if server not in r.queries:
                row.problems[server] = "not offered"
                continue
            url = f"{bases[server]}{ITEMS[server]}{r.queries[server]}"
            ids, problem = check(url, r.expected)
            if problem:
                row.problems[server] = problem
                continue
            if reference is None:
                reference = ids
            elif sorted(ids) != sorted(reference):
                console.print(f"[yellow]{r.label}: {server} returns other features[/yellow]")
            urls[server] = url
            common.wrk(url, 1, args.connections)  # warm-up
        runs: dict[str, list[float]] = {server: [] for server in urls}
        names = list(urls)
        for round_ in range(args.rounds):
            k = round_ % len(names) if names else 0
            order = names[k:] + names[:k]
            for server in order:
                rps, problems = common.wrk(urls[server], args.duration, args.connections)
                runs[server].append(rps)
                if problems:
                    row.problems[server] = problems
        row.rps = {server: statistics.median(values) for server, values in runs.items()}
        tb = None if failed(row, "TwinBridge") else row.rps.get("TwinBridge")
        for peer in peers(args):
            theirs = None if failed(row, peer) else row.rps.get(peer)
            row.ratios[f"TwinBridge/{peer}"] = tb / theirs if tb and theirs else None
        rows.append(row)
    return rows


def failed(row: Row, server: str) -> bool:
    """Not measured, or answered with errors (socket timeouts alone are only starred)."""
    return server not in row.rps or "non-2xx" in row.problems.get(server, "")


def peers(args: argparse.Namespace) -> list[str]:
    return [s for s in args.servers if s != "TwinBridge"]


def report(rows: list[Row], args: argparse.Namespace, load: tuple[str, str]) -> None:
    table = Table(
        title=f"{args.count:,} street trees in PostGIS, one worker process each, "
        f"wrk -t1 -c{args.connections} -d{args.duration}s, median of {args.rounds} (requests/s)"
        f"; load average before: {load[0]}, after: {load[1]}"
    )
    table.add_column("request")
    for server in args.servers:
        table.add_column(server, justify="right")
    for peer in peers(args):
        table.add_column(f"TB/{peer}", justify="right")
    for row in rows:
        cells = [
            "–"
            if row.problems.get(s) == "not offered"
            else "[red]FAILED[/red]"
            if failed(row, s)
            else f"{row.rps[s]:,.0f}" + "*" * (s in row.problems)
            for s in args.servers
        ]
        ratios = [
            "–" if (v := row.ratios.get(f"TwinBridge/{p}")) is None else f"{v:.2f}×"
            for p in peers(args)
        ]
        table.add_row(row.request, *cells, *ratios)
    console.print(table)
    for row in rows:
        for server, problem in row.problems.items():
            if problem == "not offered":
                continue
            console.print(f"[yellow]* {row.request} – {server}: {problem}[/yellow]", soft_wrap=True)
    packages = ("twinbridge", "pygeoapi", "tipg", "asyncpg", "uvicorn", "fastapi", "gunicorn")
    settings = {"trees": args.count, "duration_s": args.duration}
    settings |= {"connections": args.connections, "rounds": args.rounds}
    settings |= {"servers": list(args.servers), "load_average": list(load)}
    common.save_results(RESULTS, settings, packages, [asdict(r) for r in rows])


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(ensure_trees(dsn, args.database, args.count))
    if args.workers:
        scaling.run(args, tmp, procs, partial(measured, args=args, tmp=tmp))
        return
    load = load_average()
    rows = measured(procs, args=args, tmp=tmp)
    report(rows, args, (load, load_average()))


def measured(procs: list[Process], *, args: argparse.Namespace, tmp: Path) -> list[Row]:
    """Start the servers (`args.servers`, `args.worker_count` workers) and measure them."""
    bases = start_servers(args, tmp, procs)
    requests = requests_for(*asyncio.run(expected_counts(args)))
    requests += next_link_rows(bases)
    return measure(requests, bases, args)


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
    parser.add_argument(
        "--servers", type=server_list, default=SERVERS, help="e.g. TwinBridge,bare (default: all)"
    )
    parser.add_argument(
        "--workers", type=worker_list, default=None, help="e.g. 1,2: scaling of TwinBridge and bare"
    )
    args = parser.parse_args()
    args.worker_count = 1
    if args.workers:
        args.servers = ("TwinBridge", "bare")
    common.main_with_servers(args, run, "twinbridge-bench-pg-")


def server_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in SERVERS]
    if unknown or "TwinBridge" not in names:
        raise argparse.ArgumentTypeError(f"TwinBridge and any of {', '.join(SERVERS[1:])}")
    return tuple(s for s in SERVERS if s in names)


def worker_list(text: str) -> tuple[int, int]:
    try:
        one, two = (int(n) for n in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("two worker counts, e.g. 1,2") from None
    if not 0 < one < two:
        raise argparse.ArgumentTypeError("two worker counts, the smaller first, e.g. 1,2")
    return one, two


if __name__ == "__main__":
    main()
