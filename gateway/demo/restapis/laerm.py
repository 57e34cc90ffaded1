"""A noise-monitoring API in the style of a city portal (München's Lärmmessstellen): the
monitors, and per monitor its 15-minute levels with German field names, times in
milliseconds since 1970 and the unit spelled "dB(A)".

    GET /api/v1/messstellen
    GET /api/v1/messstellen/{kennung}/messwerte?seit=2026-12-06T10:00:00Z

`{"messstellen": [{"kennung", "bezeichnung", "stadtbezirk", "geo": {"lat", "lng"}}]}` and
`{"kennung", "einheit": "dB(A)", "messwerte": [{"zeitpunkt": ms, "leq", "lmax"}]}`; `seit`
is an ISO 8601 instant (default: one day back). A level is a function of the monitor and
the quarter hour only (a daily cycle, rush hours, seeded noise): every run serves the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.demo.ngsi_seed import value
from gateway.demo.restapis.pegel import STEP, quarter

# (kennung, bezeichnung, stadtbezirk, lon, lat)
MONITORS = [
    ("MUC-L-01", "Landshuter Allee", "Neuhausen-Nymphenburg", 11.5363, 48.1449),
    ("MUC-L-02", "Leopoldstraße / Münchner Freiheit", "Schwabing-West", 11.5862, 48.1617),
    ("MUC-L-03", "Tegernseer Landstraße", "Obergiesing-Fasangarten", 11.5807, 48.1110),
]
LEVELS = {
    "leq": (None, 66.0, 4.0, 5.5, 1.5, 1, 0.06),
    "lmax": (None, 82.0, 4.0, 6.0, 3.0, 1, 0.05),
}


def levels(kennung: str, at: datetime) -> dict[str, Any]:
    ms = int(at.timestamp() * 1000)
    return {"zeitpunkt": ms, **{k: value(kennung, k, s, at) for k, s in LEVELS.items()}}


async def monitors(request: Request) -> JSONResponse:
    out = [
        {"kennung": k, "bezeichnung": b, "stadtbezirk": d, "geo": {"lat": lat, "lng": lon}}
        for k, b, d, lon, lat in MONITORS
    ]
    return JSONResponse({"messstellen": out})


async def readings(request: Request) -> JSONResponse:
    kennung = request.path_params["kennung"]
    if kennung not in {m[0] for m in MONITORS}:
        return JSONResponse({"fehler": f"Messstelle {kennung} unbekannt"}, 404)
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
        out.append(levels(kennung, at))
        at += STEP
    return JSONResponse({"kennung": kennung, "einheit": "dB(A)", "messwerte": out})


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/v1/messstellen", monitors),
            Route("/api/v1/messstellen/{kennung}/messwerte", readings),
        ]
    )


__all__ = ["MONITORS", "create_app", "levels"]
