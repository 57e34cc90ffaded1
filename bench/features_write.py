"""Benchmark: creating street trees in PostGIS through TwinBridge (OGC API – Features Part 4:
API key, schema validation, the mapping run backwards, one INSERT, the new item read back
for its ETag, an audit line) against a bare FastAPI + asyncpg INSERT endpoint
(bench/bare_write_reference.py), one worker process each, in the same run.

    .venv/bin/python bench/features_write.py [--duration 5] [--connections 8] [--rounds 1]

The table `schreib_baeume` in the database `twinbridge_bench_writes` stores the trees in a
city's own terms (height in cm, the crown's radius, genus codes); it is emptied before each
server's run. `wrk` posts one feature per request (a Lua script). The figures, and the ratio
TwinBridge/bare, are printed and written to bench/results/features_write.json. The target:
at least 500 creates/s through TwinBridge with one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import common
import httpx
import orjson
import yaml
from common import BIN, Process, console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the write tests' mapping: German columns, cm, a crown radius, genus codes, a template
from tests.features.write_fixtures import MAPPING  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "features_write.json"
KEY = "bench-writer-key"
TABLE = """
DROP TABLE IF EXISTS schreib_baeume;
CREATE TABLE schreib_baeume (
  baum_nr serial PRIMARY KEY, art text NOT NULL, art_de text, gattung_code text,
  pflanzjahr smallint, hoehe_cm integer, krone_r numeric(6,3), umfang_cm integer,
  bezirk text, strasse text, hausnr text, stand date, geom geometry(Point, 4326));
"""
FEATURE = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [9.95, 53.55]},
    "properties": {
        "species_scientific": "Tilia cordata",
        "species_german": "Winter-Linde",
        "genus": "Tilia",
        "planting_year": 1990,
        "height_m": 12.5,
        "crown_diameter_m": 8.3,
        "trunk_circumference_cm": 140,
        "district": "Altona",
        "street": None,
        "last_update": "2024-03-01",
    },
}
PATHS = {"TwinBridge": "/bench/collections/trees/items", "bare": "/collections/trees/items"}


def lua(headers: dict[str, str]) -> str:
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = {orjson.dumps(orjson.dumps(FEATURE).decode()).decode()}",
    ]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    return "\n".join(lines) + "\n"


async def reset(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count = await conn.fetchval("SELECT count(*) FROM schreib_baeume")
        await conn.execute("TRUNCATE schreib_baeume")
        return int(count)
    finally:
        await conn.close()


async def ensure_database(admin: str, dsn: str, database: str) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import load_postgis_trees as loader

    await loader.ensure_database(admin, database)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        await conn.execute(TABLE)
    finally:
        await conn.close()


def twinbridge_config(args: argparse.Namespace) -> dict[str, Any]:
    login = {"host": args.host, "port": args.port, "user": args.user, "database": args.database}
    source = {"connector": "postgis", **login, "table": "schreib_baeume", "writable": True}
    key = {"id": "bench", "sha256": hashlib.sha256(KEY.encode()).hexdigest(), "scopes": ["write"]}
    collection = {"profile": "street-trees", "source": source, "mapping": MAPPING}
    return {
        "tenants": {"bench": {"access": {"api_keys": [key]}, "collections": {"trees": collection}}}
    }


def command(
    server: str, port: int, args: argparse.Namespace, tmp: Path, env: dict[str, str]
) -> list[str]:
    if server == "TwinBridge":
        config = tmp / "twinbridge.yaml"
        config.write_text(yaml.safe_dump(twinbridge_config(args), sort_keys=False))
        cmd = [str(BIN / "twinbridge"), "serve", "--config", str(config), "--port", str(port)]
        return [*cmd, "--workers", "1", "--log-level", "warning"]
    env["BARE_DSN"] = dsn_of(args)
    cmd = [str(BIN / "uvicorn"), "bare_write_reference:app", "--port", str(port), "--workers", "1"]
    return [*cmd, "--log-level", "warning", "--no-access-log", "--app-dir", str(ROOT / "bench")]


def dsn_of(args: argparse.Namespace) -> str:
    return f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"


def wrk_post(url: str, script: Path, args: argparse.Namespace) -> tuple[float, str]:
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "-s", str(script), url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        sys.exit(f"cannot parse wrk output:\n{out}")
    problems = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return float(found.group(1)), f"{problems.group(1)} non-2xx" if problems else ""


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    admin = f"postgresql://{args.user}@{args.host}:{args.port}/postgres"
    asyncio.run(ensure_database(admin, dsn_of(args), args.database))
    results: dict[str, list[float]] = {"TwinBridge": [], "bare": []}
    problems: dict[str, str] = {}
    for server in results:
        env = dict(os.environ)
        base = common.launch(
            server,
            tmp,
            procs,
            lambda p, s=server, e=env: command(s, p, args, tmp, e),
            "/docs" if server == "bare" else "/health",
            env,
        )
        headers = {"Content-Type": "application/geo+json"}
        if server == "TwinBridge":
            headers["X-API-Key"] = KEY
        first = httpx.post(f"{base}{PATHS[server]}", content=orjson.dumps(FEATURE), headers=headers)
        if first.status_code != 201:
            sys.exit(f"{server}: {first.status_code} {first.text}")
        script = tmp / f"{server}.lua"
        script.write_text(lua(headers))
        for _ in range(args.rounds):
            asyncio.run(reset(dsn_of(args)))
            rps, problem = wrk_post(f"{base}{PATHS[server]}", script, args)
            written = asyncio.run(reset(dsn_of(args)))
            results[server].append(rps)
            if problem:
                problems[server] = problem
            console.print(f"{server}: {rps:,.0f} creates/s ({written:,} rows written) {problem}")
    tb, bare = (statistics.median(results[s]) for s in ("TwinBridge", "bare"))
    console.print(
        f"creates/s, one worker each, wrk -t1 -c{args.connections} -d{args.duration}s: "
        f"TwinBridge {tb:,.0f}, bare {bare:,.0f}, TwinBridge/bare {tb / bare:.2f}×"
    )
    settings = {"duration_s": args.duration, "connections": args.connections, "rounds": args.rounds}
    rows = [{"request": "POST one tree", "rps": {"TwinBridge": tb, "bare": bare},
             "ratio": tb / bare, "problems": problems}]  # fmt: skip
    common.save_results(RESULTS, settings, ("twinbridge", "asyncpg", "uvicorn", "fastapi"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=1, help="wrk runs per server (median)")
    parser.add_argument("--database", default="twinbridge_bench_writes")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    common.main_with_servers(parser.parse_args(), run, "twinbridge-bench-write-")


if __name__ == "__main__":
    main()
