"""A parking-guidance API in the style of a city's Parkleitsystem (München's car parks):
the car parks with their current figures, and per car park its 15-minute history.

    GET /api/parkhaeuser
    GET /api/parkhaeuser/{id}/verlauf?seit=2026-12-06T10:00:00Z

`{"anlagen": [{"id", "name", "typ", "lage": GeoJSON Point, "kapazitaet", "frei",
"auslastung" (percent), "aktualisiert" (ISO 8601, +01:00)}]}` and `{"id", "verlauf":
[{"zeit", "frei", "auslastung"}]}`; `seit` is an ISO 8601 instant (default: one day back).
Occupancy is a function of the car park and the quarter hour only (busy by day, a peak at
noon, seeded noise): every run serves the same figures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.demo.ngsi_urban import occupancy
from gateway.demo.restapis.pegel import STEP, _local, quarter

# (id, name, typ, lon, lat, kapazitaet)
CAR_PARKS = [
    ("PH-STACHUS", "Parkhaus Stachus", "Parkhaus", 11.5650, 48.1392, 750),
    ("PH-OLYMPIA", "Parkhaus Olympiapark", "Parkhaus", 11.5497, 48.1755, 1100),
    ("PR-FROETTM", "P+R Fröttmaning", "P+R", 11.6211, 48.2040, 1270),
    ("TG-MARIENPL", "Tiefgarage Marienplatz", "Tiefgarage", 11.5763, 48.1368, 480),
]


def figures(park: tuple[Any, ...], at: datetime) -> dict[str, Any]:
    ratio = occupancy(park[0], at)
    return {"frei": round(park[5] * (1 - ratio)), "auslastung": round(100 * ratio, 1)}


async def car_parks(request: Request) -> JSONResponse:
    now = quarter(datetime.now(UTC))
    out = [
        {
            "id": p[0],
            "name": p[1],
            "typ": p[2],
            "lage": {"type": "Point", "coordinates": [p[3], p[4]]},
            "kapazitaet": p[5],
            **figures(p, now),
            "aktualisiert": _local(now),
        }
        for p in CAR_PARKS
    ]
    return JSONResponse({"anlagen": out})


async def history(request: Request) -> JSONResponse:
    park = next((p for p in CAR_PARKS if p[0] == request.path_params["id"]), None)
    if park is None:
        return JSONResponse({"fehler": "unbekannte Anlage"}, 404)
    now = datetime.now(UTC)
    try:
        text = request.query_params.get("seit")
        since = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return JSONResponse({"fehler": "seit: ISO 8601"}, 400)
    if since is not None and since.tzinfo is None:
        return JSONResponse({"fehler": "seit: mit Zeitzone"}, 400)
    start = max(since or now - timedelta(days=1), now - timedelta(days=7))
    at = quarter(start) + (STEP if quarter(start) < start else timedelta(0))
    out = []
    while at <= now:
        out.append({"zeit": _local(at), **figures(park, at)})
        at += STEP
    return JSONResponse({"id": park[0], "verlauf": out})


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/parkhaeuser", car_parks),
            Route("/api/parkhaeuser/{id}/verlauf", history),
        ]
    )


__all__ = ["CAR_PARKS", "create_app", "figures"]
