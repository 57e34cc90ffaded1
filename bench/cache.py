"""Benchmark: a repeated identical request answered from TwinBridge's response cache, and
revalidated with a 304 (If-None-Match), against the bare FastAPI + asyncpg endpoint
(bench/bare_reference.py) on the same PostGIS table, in one run, one worker process each.

    .venv/bin/python bench/cache.py [--duration 8] [--connections 8] [--count 100000]

The trees table is the one bench/features_postgis.py loads (database `twinbridge_bench`).
TwinBridge serves it twice: `trees` with a version_query (a one-row table kept by a
statement trigger on `trees`), so its answers get an ETag and are kept by the response
cache, and `plain` without one (every request runs the query: the uncached rate). Each
URL is checked first (status, features, X-Cache), then measured with `wrk -t1 -cC -dDs`.
Results go to bench/results/cache.json. Compare ratios from one run: the machine is
shared with wrk and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import common
import httpx
import yaml
from common import BIN, Process, console
from features_postgis import ensure_trees, twinbridge_config
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "cache.json"
VERSION_SQL = """
CREATE TABLE IF NOT EXISTS bench_trees_version (n bigint NOT NULL);
INSERT INTO bench_trees_version SELECT 0 WHERE NOT EXISTS (SELECT FROM bench_trees_version);
CREATE OR REPLACE FUNCTION bench_trees_bump() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN UPDATE bench_trees_version SET n = n + 1; RETURN NULL; END$$;
CREATE OR REPLACE TRIGGER bench_trees_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON trees FOR EACH STATEMENT EXECUTE FUNCTION bench_trees_bump();
"""
ITEM_ID = 54321


async def ensure_version(args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(
        host=args.host, port=args.port, user=args.user, database=args.database
    )
    try:
        await conn.execute(VERSION_SQL)
    finally:
        await conn.close()


def config(args: argparse.Namespace) -> dict[str, Any]:
    doc = twinbridge_config(args)
    trees = doc["tenants"]["bench"]["collections"]["trees"]
    plain = {**trees, "source": dict(trees["source"])}
    trees["source"]["version_query"] = "SELECT n FROM bench_trees_version"
    doc["tenants"]["bench"]["collections"]["plain"] = plain
    return doc


def command(server: str, port: int, *, args: argparse.Namespace, tmp: Path,
            env: dict[str, str]) -> list[str]:  # fmt: skip
    if server == "TwinBridge":
        path = tmp / "twinbridge.yaml"
        path.write_text(yaml.safe_dump(config(args), sort_keys=False))
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(path), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]
    env["BARE_DSN"] = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    cmd = [str(BIN / "uvicorn"), "bare_reference:app", "--port", str(port), "--workers", "1"]
    return [*cmd, "--log-level", "warning", "--no-access-log", "--app-dir", str(ROOT / "bench")]


def wrk(url: str, args: argparse.Namespace, headers: dict[str, str]) -> tuple[float, str]:
    """Requests/s (wrk counts a 304 as an answer) and any problems wrk reported."""
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", url]
    for name, value in headers.items():
        cmd[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None:
        sys.exit(f"cannot parse wrk output:\n{out}")
    problems = [m.group(0).strip() for m in re.finditer(r"(Non-2xx.*|Socket errors:.*)", out)]
    return float(rps.group(1)), "; ".join(problems)


def check(url: str, headers: dict[str, str], status: int, x_cache: str | None) -> str:
    """The ETag of a checked answer (status, X-Cache as expected); exits otherwise."""
    r = httpx.get(url, headers={"Accept": "application/geo+json", **headers}, timeout=60)
    if r.status_code != status or r.headers.get("x-cache") != x_cache:
        sys.exit(f"{url}: {r.status_code}, X-Cache {r.headers.get('x-cache')}: {r.text[:200]}")
    return r.headers.get("etag", "")


def cases(bases: dict[str, str]) -> list[tuple[str, str, str, dict[str, str]]]:
    """(request, what, URL, headers), each URL checked (twice: the second is a hit)."""
    tb, bare = bases["TwinBridge"], bases["bare"]
    out = []
    for label, query in (("limit=100", "?limit=100"), ("item by id", f"/{ITEM_ID}")):
        cached = f"{tb}/bench/collections/trees/items{query}"
        plain = f"{tb}/bench/collections/plain/items{query}"
        check(cached, {}, 200, "miss")
        etag = check(cached, {}, 200, "hit")
        check(cached, {"If-None-Match": etag}, 304, None)
        check(plain, {}, 200, None)
        out += [
            (label, "bare", f"{bare}/collections/trees/items{query}", {}),
            (label, "TwinBridge uncached", plain, {}),
            (label, "TwinBridge cache hit", cached, {}),
            (label, "TwinBridge 304", cached, {"If-None-Match": etag}),
        ]
    return out


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    dsn = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(ensure_trees(dsn, args.database, args.count))
    asyncio.run(ensure_version(args))
    bases = {}
    for server, ready in (("TwinBridge", "/bench/collections/trees/items"),
                          ("bare", "/collections/trees/items")):  # fmt: skip
        env = dict(os.environ)
        cmd = partial(command, server, args=args, tmp=tmp, env=env)
        bases[server] = common.launch(server, tmp, procs, cmd, f"{ready}?limit=1", env)
    rows: list[dict[str, Any]] = []
    for label, what, url, headers in cases(bases):
        wrk(url, argparse.Namespace(connections=args.connections, duration=1), headers)
        rps, problems = wrk(url, args, headers)
        rows.append({"request": label, "server": what, "rps": rps, "problems": problems})
    report(rows, args)


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    table = Table(title=f"{args.count:,} trees in PostGIS, one worker each, "
                  f"wrk -t1 -c{args.connections} -d{args.duration}s (requests/s)")  # fmt: skip
    for column in ("request", "server", "requests/s", "× bare", "problems"):
        table.add_column(column, justify="left" if column in ("request", "server") else "right")
    bare = {r["request"]: r["rps"] for r in rows if r["server"] == "bare"}
    for r in rows:
        r["ratio_to_bare"] = round(r["rps"] / bare[r["request"]], 2) if bare[r["request"]] else None
        table.add_row(r["request"], r["server"], f"{r['rps']:,.0f}",
                      f"{r['ratio_to_bare']:.2f}×", r["problems"])  # fmt: skip
    console.print(table)
    settings = {"trees": args.count, "duration_s": args.duration, "connections": args.connections}
    common.save_results(RESULTS, settings, ("twinbridge", "asyncpg", "uvicorn", "fastapi"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--count", type=int, default=100_000, help="trees in the table")
    parser.add_argument("--database", default="twinbridge_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-cache-")


if __name__ == "__main__":
    main()
