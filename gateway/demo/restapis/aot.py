"""An API in the style of Chicago's Array of Things (api.arrayofthings.org): sensor nodes on
lamp posts, their sensors, and observations.

    GET /api/v1/nodes?bbox=minLon,minLat,maxLon,maxLat&page=1&size=50
    GET /api/v1/sensors?page=1&size=50
    GET /api/v1/observations?node=004,011&sensor=metsense.bmp180.temperature
                             &since=2024-05-01T06:00:00Z&until=…&page=2&size=100

Every list answers `{"data": [...], "meta": {"links": {"previous": …, "next": …},
"total": n}}` with pages counted from 1 (at most 200 records each), and also sends the next
page as a `Link` header (rel="next"). Nodes carry their location as a GeoJSON Point, as do
observations (the node's). Filters compare exactly; `node` takes a comma list. The data
(24 nodes, 6 sensors, 4 readings each per hour over 6 hours) comes from one seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAX_SIZE = 200
STREETS = (
    "State St & Jackson Blvd",
    "Michigan Ave & Madison St",
    "Clark St & Lake St",
    "Halsted St & Roosevelt Rd",
    "Ashland Ave & Division St",
    "Western Ave & Chicago Ave",
    "Pulaski Rd & Cermak Rd",
    "Damen Ave & Fullerton Ave",
)
SENSORS = (
    ("metsense.bmp180.temperature", "C", -40, 85),
    ("metsense.htu21d.humidity", "RH", 0, 100),
    ("metsense.bmp180.pressure", "hPa", 300, 1100),
    ("chemsense.co.concentration", "ppm", 0, 1000),
    ("chemsense.no2.concentration", "ppm", 0, 20),
    ("lightsense.tsl250rd.intensity", "uW/cm^2", 0, 2000),
)
NODES = 24
START = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@cache
def nodes() -> tuple[dict[str, Any], ...]:
    rng = random.Random(4004)
    out = []
    for n in range(1, NODES + 1):
        lon = round(-87.75 + rng.uniform(0, 0.2), 6)
        lat = round(41.78 + rng.uniform(0, 0.2), 6)
        out.append(
            {
                "vsn": f"{n:03d}",
                "address": f"{rng.choice(STREETS)} Chicago IL",
                "description": rng.choice(("AoT Chicago (S)", "AoT Chicago (T)", "AoT Chicago")),
                "location": {"type": "Point", "coordinates": [lon, lat]},
                "commissioned_on": _iso(START - timedelta(days=rng.randint(200, 900))),
                "project": "chicago",
            }
        )
    return tuple(out)


@cache
def sensors() -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "path": path,
            "uom": uom,
            "min": low,
            "max": high,
            "subsystem": path.split(".")[0],
            "sensor": path.split(".")[1],
            "parameter": path.split(".")[2],
        }
        for path, uom, low, high in SENSORS
    )


@cache
def observations() -> tuple[dict[str, Any], ...]:
    rng = random.Random(4005)
    out = []
    for step in range(6 * 4):
        at = START + timedelta(minutes=15 * step)
        for node in nodes():
            for path, uom, low, high in SENSORS[:4]:
                value = round(low + (high - low) * (0.2 + 0.3 * rng.random()), 2)
                out.append(
                    {
                        "id": len(out) + 1,
                        "node_vsn": node["vsn"],
                        "sensor_path": path,
                        "timestamp": _iso(at),
                        "value": value,
                        "uom": uom,
                        "location": node["location"],
                    }
                )
    return tuple(out)


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return -1


def _page(request: Request, found: list[dict[str, Any]]) -> JSONResponse:
    page, size = _int(request, "page", 1), min(MAX_SIZE, _int(request, "size", 50))
    if page < 1 or size < 1:
        return JSONResponse({"error": "page and size must be positive integers"}, 422)
    start = (page - 1) * size
    more = start + size < len(found)
    following = str(request.url.include_query_params(page=page + 1)) if more else None
    previous = str(request.url.include_query_params(page=page - 1)) if page > 1 else None
    doc = {
        "data": found[start : start + size],
        "meta": {"links": {"previous": previous, "next": following}, "total": len(found)},
    }
    headers = {"Link": f'<{following}>; rel="next"'} if following else {}
    return JSONResponse(doc, headers=headers)


async def list_nodes(request: Request) -> JSONResponse:
    found = list(nodes())
    if "bbox" in request.query_params:
        try:
            w, s, e, n = (float(v) for v in request.query_params["bbox"].split(","))
        except ValueError:
            return JSONResponse({"error": "bbox: minLon,minLat,maxLon,maxLat"}, 422)
        found = [
            r
            for r in found
            if w <= r["location"]["coordinates"][0] <= e
            and s <= r["location"]["coordinates"][1] <= n
        ]
    return _page(request, found)


async def list_sensors(request: Request) -> JSONResponse:
    return _page(request, list(sensors()))


async def list_observations(request: Request) -> JSONResponse:
    params = request.query_params
    found = list(observations())
    if "node" in params:
        wanted = params["node"].split(",")
        found = [o for o in found if o["node_vsn"] in wanted]
    if "sensor" in params:
        found = [o for o in found if o["sensor_path"] == params["sensor"]]
    try:
        since = _instant(params.get("since"))
        until = _instant(params.get("until"))
    except ValueError:
        return JSONResponse({"error": "since/until: ISO 8601 instants"}, 422)
    if since is not None:
        found = [o for o in found if _instant(o["timestamp"]) >= since]  # type: ignore[operator]
    if until is not None:
        found = [o for o in found if _instant(o["timestamp"]) <= until]  # type: ignore[operator]
    return _page(request, found)


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/v1/nodes", list_nodes),
            Route("/api/v1/sensors", list_sensors),
            Route("/api/v1/observations", list_observations),
        ]
    )


__all__ = ["MAX_SIZE", "create_app", "nodes", "observations", "sensors"]
