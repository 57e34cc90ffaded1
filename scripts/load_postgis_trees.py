"""Load N synthetic street trees into PostGIS, deterministically (same seed, same rows).

    .venv/bin/python scripts/load_postgis_trees.py --database twinbridge_trees --count 100000

Creates the database when it is missing (through the `postgres` maintenance database),
`CREATE EXTENSION postgis`, replaces the table and fills it with one COPY. The trees are
the Hamburg demo's (real district and street names, gateway/demo/trees.py), so a mapping
onto the street-trees profile is a plain rename.

The table (default `public.trees`) uses the **profile's property names** as columns, so
TwinBridge, pygeoapi and tipg publish the same property names and a benchmark can compare
their answers feature by feature:

    fid                     bigint primary key      1..N
    species_scientific      text not null
    species_german          text not null
    genus                   text not null
    planting_year           integer                 null where unknown (~8 %)
    height_m                double precision        null where unmeasured
    crown_diameter_m        double precision
    trunk_circumference_cm  integer
    district                text not null           one of Hamburg's 7 Bezirke (indexed)
    street                  text                    "Elbchaussee 12"
    last_update             date not null
    geom                    geometry(Point, SRID)   GiST index; SRID 4326 (7 decimals) or
                                                    25832 (cm), see --srid

100,000 rows take about two seconds (generation in Python, one binary COPY, the indexes).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.demo.places import HAMBURG, HAMBURG_BOX, hamburg_bezirk  # noqa: E402
from gateway.demo.trees import Gaps, lay_out_streets, plant  # noqa: E402

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_SEED = 2024
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
COLUMNS = (
    ("fid", "bigint"),
    ("species_scientific", "text"),
    ("species_german", "text"),
    ("genus", "text"),
    ("planting_year", "integer"),
    ("height_m", "double precision"),
    ("crown_diameter_m", "double precision"),
    ("trunk_circumference_cm", "integer"),
    ("district", "text"),
    ("street", "text"),
    ("last_update", "date"),
    ("x", "double precision"),
    ("y", "double precision"),
)
NOT_NULL = {"fid", "species_scientific", "species_german", "genus", "district", "last_update"}


def tree_rows(count: int, srid: int = 4326, seed: int = DEFAULT_SEED) -> list[tuple[Any, ...]]:
    """The rows in COLUMNS order; x/y in `srid` (4326: lon/lat rounded to 7 decimals)."""
    if srid not in (4326, 25832):
        raise ValueError("srid must be 4326 or 25832")
    rng = random.Random(seed)

    def in_band(name: str, x: float, y: float) -> bool:
        return hamburg_bezirk(x, y) == name

    streets = lay_out_streets(rng, HAMBURG, HAMBURG_BOX, accept=in_band)
    trees = plant(rng, streets, count, HAMBURG_BOX, Gaps(street=0.01))
    xs = np.array([t.x for t in trees], dtype=float)
    ys = np.array([t.y for t in trees], dtype=float)
    if srid == 4326:
        to84 = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True)
        lon, lat = to84.transform(xs, ys)
        xs, ys = np.round(lon, 7), np.round(lat, 7)
    rows = []
    for fid, (tree, x, y) in enumerate(zip(trees, xs.tolist(), ys.tolist(), strict=True), 1):
        street = None if tree.street is None else f"{tree.street} {tree.house_number}"
        rows.append(
            (
                fid,
                tree.species.scientific,
                tree.species.german,
                tree.species.genus,
                tree.planting_year,
                tree.height_m,
                tree.crown_diameter_m,
                tree.trunk_circumference_cm,
                tree.district,
                street,
                tree.updated,
                x,
                y,
            )
        )
    return rows


def with_database(dsn: str, database: str) -> str:
    """The same server URI naming another database (query options kept)."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


def _ident(name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"'{name}' must be a lower-case SQL identifier")
    return f'"{name}"'


async def ensure_database(dsn: str, database: str) -> None:
    """Create `database` (with PostGIS) when it does not exist; `dsn` names any database."""
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f"CREATE DATABASE {_ident(database)}")
    finally:
        await conn.close()


async def load_table(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[Any, ...]],
    *,
    table: str = "trees",
    schema: str = "public",
    srid: int = 4326,
) -> None:
    """Replace `schema.table` with `rows` (as made by tree_rows), indexes and statistics."""
    target = f"{_ident(schema)}.{_ident(table)}"
    data = [(name, kind) for name, kind in COLUMNS if name not in ("x", "y")]
    columns = ",\n  ".join(
        f"{name} {kind}{' NOT NULL' if name in NOT_NULL else ''}" for name, kind in data
    )
    names = ", ".join(name for name, _ in data)
    async with conn.transaction():
        await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
        await conn.execute(f"DROP TABLE IF EXISTS {target}")
        await conn.execute(
            f"CREATE TABLE {target} (\n  {columns},\n  geom geometry(Point, {srid}))"
        )
        staging = "twinbridge_load_staging"
        await conn.execute(
            f"CREATE TEMP TABLE {staging} ("
            + ", ".join(f"{n} {k}" for n, k in COLUMNS)
            + ") ON COMMIT DROP"
        )
        await conn.copy_records_to_table(staging, records=rows)
        await conn.execute(
            f"INSERT INTO {target} ({names}, geom) SELECT {names},"
            f" ST_SetSRID(ST_MakePoint(x, y), {srid}) FROM {staging} ORDER BY fid"
        )
        await conn.execute(f"ALTER TABLE {target} ADD PRIMARY KEY (fid)")
        index = f"{schema}_{table}"
        await conn.execute(f"CREATE INDEX {_ident(index + '_geom')} ON {target} USING gist (geom)")
        await conn.execute(f"CREATE INDEX {_ident(index + '_district')} ON {target} (district)")
    await conn.execute(f"ANALYZE {target}")


async def main_async(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    await ensure_database(args.dsn, args.database)
    rows = tree_rows(args.count, args.srid, args.seed)
    generated = time.perf_counter()
    conn = await asyncpg.connect(with_database(args.dsn, args.database))
    try:
        await load_table(conn, rows, table=args.table, schema=args.schema, srid=args.srid)
    finally:
        await conn.close()
    done = time.perf_counter()
    print(
        f"{len(rows):,} trees in {args.database}.{args.schema}.{args.table} (SRID {args.srid}):"
        f" generated in {generated - started:.1f} s, loaded in {done - generated:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="twinbridge_trees", help="created when missing")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--srid", type=int, default=4326, choices=(4326, 25832))
    parser.add_argument("--table", default="trees")
    parser.add_argument("--schema", default="public")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="server and maintenance database")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
