"""The bare reference: the benchmark's trees as GeoJSON with FastAPI + asyncpg + orjson and
nothing else (no planner, no mapping, hand-written SQL). It marks what Python can do here.

    BARE_DSN=postgresql://postgres@127.0.0.1/twinbridge_bench uvicorn bare_reference:app

Filter: `planting_year_gt` and `district` stand for the CQL2 `planting_year > N AND district
= '...'`.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from fastapi import FastAPI, HTTPException, Response

COLUMNS = "fid, species_scientific, species_german, genus, planting_year, height_m, "
COLUMNS += "crown_diameter_m, trunk_circumference_cm, district, street, last_update::text"
NAMES = [c.strip().split("::")[0] for c in COLUMNS.split(",")]
SELECT = f"SELECT {COLUMNS}, ST_AsGeoJSON(geom, 7) FROM trees"
SESSION = {
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
    "plan_cache_mode": "force_custom_plan",
}  # as TwinBridge's sessions
pool: asyncpg.Pool = None  # type: ignore[assignment]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(os.environ["BARE_DSN"], min_size=1, max_size=10,
                                     server_settings=SESSION)  # fmt: skip
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


def feature(row: asyncpg.Record) -> dict:
    properties = dict(zip(NAMES, row, strict=False))
    return {"type": "Feature", "id": row[0], "geometry": orjson.loads(row[-1]),
            "properties": properties}  # fmt: skip


@app.get("/collections/trees/items")
async def items(limit: int = 10, offset: int = 0, bbox: str | None = None,
                planting_year_gt: int | None = None,
                district: str | None = None) -> Response:  # fmt: skip
    where, args = [], []
    if bbox:
        args += [float(v) for v in bbox.split(",")]
        where.append("geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)")
    if planting_year_gt is not None and district is not None:
        args += [planting_year_gt, district]
        where.append(f"planting_year > ${len(args) - 1} AND district = ${len(args)}")
    sql = SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += f" ORDER BY fid LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}"
    rows = await pool.fetch(sql, *args, limit, offset)
    doc = {"type": "FeatureCollection", "features": [feature(r) for r in rows],
           "numberReturned": len(rows)}  # fmt: skip
    return Response(orjson.dumps(doc), media_type="application/geo+json")


@app.get("/collections/trees/items/{fid}")
async def item(fid: int) -> Response:
    row = await pool.fetchrow(f"{SELECT} WHERE fid = $1", fid)
    if row is None:
        raise HTTPException(404)
    return Response(orjson.dumps(feature(row)), media_type="application/geo+json")
