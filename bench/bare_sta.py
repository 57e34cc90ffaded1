"""The bare reference of bench/sta_postgres.py: Observations from the PostgreSQL STA store's
own tables with FastAPI + asyncpg + orjson and nothing else. It runs the SQL TwinBridge's
store runs (the page of top+1 rows; the Datastream's look-up only for an empty page) and
writes the same JSON (`@iot.selfLink`, navigation links, a keyset `@iot.nextLink`), but has
no OData parser, no planner, no transaction and no middleware.

    BARE_DSN=postgresql://postgres@127.0.0.1/twinbridge_bench_sta uvicorn bare_sta:app

It understands the benchmark's requests only: `$top`, `$orderby=phenomenonTime desc` and a
`$filter` of the shape `phenomenonTime ge T1 and phenomenonTime lt T2`.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response

ROOT = "/bench/sta/v1.1"
SCHEMA = os.environ.get("BARE_SCHEMA", "sta")
SESSION = {"search_path": f"{SCHEMA},public", "plan_cache_mode": "force_custom_plan"}
COLUMNS = (
    "t.id, t.phenomenon_time_start, t.phenomenon_time_end, t.result_time, t.result_json,"
    " t.result_number, t.result_string, t.result_quality, t.valid_time_start,"
    " t.valid_time_end, t.parameters, t.datastream_id, t.multi_datastream_id,"
    " t.feature_of_interest_id, t.phenomenon_time_start, t.id"
)
EXISTS = "SELECT t.id FROM datastreams t WHERE t.id = $1::bigint"
FILTER = re.compile(r"phenomenonTime ge (\S+) and phenomenonTime lt (\S+)")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RELS = (("Datastream", 11), ("MultiDatastream", 12), ("FeatureOfInterest", 13))
pool: asyncpg.Pool = None  # type: ignore[assignment]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(
        os.environ["BARE_DSN"], min_size=1, max_size=5, server_settings=SESSION
    )
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


def iso(us: int | None) -> str | None:
    if us is None:
        return None
    whole, fraction = divmod(us, 1_000_000)
    text = (EPOCH + timedelta(seconds=whole)).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{fraction:06d}".rstrip("0") if fraction else "") + "Z"


def interval(start: int | None, end: int | None) -> str | None:
    if start is None or end is None or end == start:
        return iso(start)
    return f"{iso(start)}/{iso(end)}"


def micros(text: str) -> int:
    delta = datetime.fromisoformat(text.replace("Z", "+00:00")) - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def json_value(text: str | None) -> Any:
    return None if text is None else orjson.Fragment(text)


def observation(row: Sequence[Any], root: str) -> dict[str, Any]:
    self_link = f"{root}/Observations({row[0]})"
    out: dict[str, Any] = {
        "@iot.id": row[0],
        "@iot.selfLink": self_link,
        "phenomenonTime": interval(row[1], row[2]),
        "resultTime": iso(row[3]),
        "result": json_value(row[4]),
    }
    if row[7] is not None:
        out["resultQuality"] = json_value(row[7])
    if row[8] is not None:
        out["validTime"] = interval(row[8], row[9])
    if row[10] is not None:
        out["parameters"] = json_value(row[10])
    for rel, _ in RELS:
        out[f"{rel}@iot.navigationLink"] = f"{self_link}/{rel}"
    return out


def token(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


async def page(
    request: Request, path: str, where: str, args: list[Any], top: int, descending: bool
) -> Response:
    direction = "DESC" if descending else "ASC"
    n = len(args)
    sql = (
        f"SELECT {COLUMNS} FROM observations t{where}"
        f" ORDER BY t.phenomenon_time_start {direction}, t.id {direction}"
        f" LIMIT ${n + 1}::bigint OFFSET ${n + 2}::bigint"
    )
    async with pool.acquire() as conn:
        rows = await conn.fetch(sql, *args, top + 1, 0)
        if not rows and path != "Observations" and await conn.fetchrow(EXISTS, args[0]) is None:
            return Response(b'{"code":404}', 404, media_type="application/json")
    root = f"{request.base_url}".rstrip("/") + ROOT
    doc: dict[str, Any] = {}
    if len(rows) > top:
        rows = rows[:top]
        query = {"$top": str(top), "$skip": str(top)}
        query |= {k: v for k, v in request.query_params.items() if k in ("$filter", "$orderby")}
        query["$skiptoken"] = token(rows[-1][14:])
        text = "&".join(f"{k}={quote(v, safe='(),/:@*' + chr(39))}" for k, v in query.items())
        doc["@iot.nextLink"] = f"{root}/{path}?{text}"
    doc["value"] = [observation(r, root) for r in rows]
    return Response(orjson.dumps(doc), media_type="application/json")


@app.get(f"{ROOT}/Observations")
async def observations(request: Request) -> Response:
    top = int(request.query_params.get("$top", "100"))
    return await page(request, "Observations", "", [], top, False)


@app.get(ROOT + "/Datastreams({ds})/Observations")
async def datastream_observations(request: Request, ds: int) -> Response:
    params = request.query_params
    top = int(params.get("$top", "100"))
    descending = params.get("$orderby") == "phenomenonTime desc"
    where, args = " WHERE t.datastream_id = $1::bigint", [ds]
    if "$filter" in params:
        match = FILTER.fullmatch(params["$filter"])
        if match is None:
            return Response(b'{"code":400}', 400, media_type="application/json")
        start, end = micros(match.group(1)), micros(match.group(2))
        where += (
            " AND (t.phenomenon_time_start >= $2::bigint AND (t.phenomenon_time_start <"
            " $3::bigint AND t.phenomenon_time_end < $4::bigint))"
        )
        args += [start, end, end]
    return await page(request, f"Datastreams({ds})/Observations", where, args, top, descending)
