"""The bare write reference: `POST /collections/trees/items` with FastAPI + asyncpg + orjson
and nothing else: the street-trees feature converted to the table's columns by hand (cm,
the crown's radius, genus codes), one INSERT, 201 with Location. No schema validation, no
mapping, no authentication, no audit: what Python can do here.

    BARE_DSN=postgresql://postgres@127.0.0.1/twinbridge_bench_writes \
        uvicorn bare_write_reference:app
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response

CODES = {"Tilia": "TI", "Acer": "AC", "Quercus": "QU"}
INSERT = (
    "INSERT INTO schreib_baeume (art, art_de, gattung_code, pflanzjahr, hoehe_cm, krone_r,"
    " umfang_cm, bezirk, stand, geom) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::date,"
    " ST_SetSRID(ST_GeomFromGeoJSON($10), 4326)) RETURNING baum_nr"
)
pool: asyncpg.Pool = None  # type: ignore[assignment]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(os.environ["BARE_DSN"], min_size=1, max_size=10)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/collections/trees/items")
async def create(request: Request) -> Response:
    feature = orjson.loads(await request.body())
    p = feature["properties"]
    height, crown = p.get("height_m"), p.get("crown_diameter_m")
    fid = await pool.fetchval(
        INSERT,
        p["species_scientific"], p.get("species_german"), CODES.get(p.get("genus")),
        p.get("planting_year"), None if height is None else round(height * 100),
        None if crown is None else crown / 2, p.get("trunk_circumference_cm"),
        p.get("district"), p.get("last_update"), orjson.dumps(feature["geometry"]).decode(),
    )  # fmt: skip
    return Response(status_code=201, headers={"Location": f"/collections/trees/items/{fid}"})
