"""A gauge API in the style of PEGELONLINE (the German federal waterways' REST API v2), with
Hamburg's tide gauges on the Elbe: water level W in cm above gauge zero, every 15 minutes.

    GET /webservices/rest-api/v2/stations.json?includeTimeseries=true
                                              &includeCurrentMeasurement=true
    GET /webservices/rest-api/v2/stations/{uuid}/W/measurements.json?start=2026-12-06T10:00:00Z

A station is `{uuid, number, shortname, longname, km, agency, longitude, latitude, water:
{shortname, longname}, timeseries: [{shortname: "W", unit: "cm", gaugeZero: {unit:
"m. ü. NHN", value}, currentMeasurement: {timestamp, value}}]}`; timestamps carry the
local offset (+01:00), as PEGELONLINE's do. `start` is an ISO 8601 instant (default: one
day back); measurements run from it to now. Errors answer `{"status", "message"}`.

A value is a function of the gauge and the quarter hour only (the M2 tide, seeded noise),
so every run and every window serve the same numbers. `create_app(failing=..., key=...)`
lets tests break a gauge's series or ask for an API key (header X-Api-Key).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.demo.ngsi_seed import _noise

ROOT = "/webservices/rest-api/v2"
STEP = timedelta(minutes=15)
LOCAL = timezone(timedelta(hours=1))  # CET, as the gauges report in winter
M2 = 12.4206  # hours, the principal lunar semidiurnal tide
# (number, shortname, longname, km, lon, lat, gauge zero m NHN, mean level cm, half range cm,
#  tide phase h): Elbe tide gauges in Hamburg.
GAUGES = [
    ("5952050", "ST. PAULI", "HAMBURG ST. PAULI", 623.1, 9.9700, 53.5456, -5.0, 520.0, 185.0, 0.0),
    ("5952020", "BUNTHAUS", "BUNTHAUS", 609.8, 10.0645, 53.4603, -5.0, 545.0, 170.0, -0.5),
    (
        "5952065",
        "SEEMANNSHÖFT",
        "HAMBURG-SEEMANNSHÖFT",
        628.9,
        9.8861,
        53.5403,
        -5.0,
        515.0,
        180.0,
        0.2,
    ),
    (
        "5952085",
        "HARBURG",
        "HAMBURG-HARBURG SCHLEUSE",
        5.6,
        9.9869,
        53.4705,
        -5.0,
        535.0,
        165.0,
        -0.3,
    ),
]
NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


def gauge_uuid(number: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"pegelonline:{number}"))


def level(number: str, at: datetime) -> float:
    """The water level in cm above gauge zero at a quarter hour."""
    g = next(g for g in GAUGES if g[0] == number)
    hours = at.timestamp() / 3600 + g[9]
    tide = g[8] * math.sin(2 * math.pi * hours / M2)
    return float(round(g[7] + tide + 6 * _noise(number, at.isoformat()), 0))


def _local(at: datetime) -> str:
    return at.astimezone(LOCAL).isoformat()


def quarter(at: datetime) -> datetime:
    at = at.astimezone(UTC).replace(second=0, microsecond=0)
    return at - timedelta(minutes=at.minute % 15)


def station(g: tuple[Any, ...], now: datetime, current: bool) -> dict[str, Any]:
    series: dict[str, Any] = {
        "shortname": "W",
        "longname": "WASSERSTAND ROHDATEN",
        "unit": "cm",
        "equidistance": 15,
        "gaugeZero": {"unit": "m. ü. NHN", "value": g[6], "validFrom": "1996-11-01"},
    }
    if current:
        last = quarter(now)
        series["currentMeasurement"] = {"timestamp": _local(last), "value": level(g[0], last)}
    return {
        "uuid": gauge_uuid(g[0]),
        "number": g[0],
        "shortname": g[1],
        "longname": g[2],
        "km": g[3],
        "agency": "WSA ELBE-NORDSEE",
        "longitude": g[4],
        "latitude": g[5],
        "water": {"shortname": "ELBE", "longname": "ELBE"},
        "timeseries": [series],
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": status, "message": message}, status)


class _Api:
    """The routes, with what a test may break: failing gauges, a required API key."""

    def __init__(self, failing: Collection[str], key: str | None) -> None:
        self.failing, self.key = set(failing), key

    def refused(self, request: Request) -> JSONResponse | None:
        if self.key is not None and request.headers.get("x-api-key") != self.key:
            return _error(401, "missing or wrong X-Api-Key")
        return None

    async def stations(self, request: Request) -> JSONResponse:
        if (no := self.refused(request)) is not None:
            return no
        params = request.query_params
        with_series = params.get("includeTimeseries") == "true"
        current = with_series and params.get("includeCurrentMeasurement") == "true"
        out = [station(g, datetime.now(UTC), current) for g in GAUGES]
        if not with_series:
            for s in out:
                del s["timeseries"]
        return JSONResponse(out)

    async def measurements(self, request: Request) -> JSONResponse:
        if (no := self.refused(request)) is not None:
            return no
        sid = request.path_params["uuid"]
        g = next((g for g in GAUGES if gauge_uuid(g[0]) == sid), None)
        if g is None:
            return _error(404, f"Station {sid} not found")
        if sid in self.failing:
            return _error(500, "internal error")
        now = datetime.now(UTC)
        try:
            start = _start(request.query_params.get("start"), now)
        except ValueError:
            return _error(400, "start: an ISO 8601 date-time")
        return JSONResponse(series(g[0], start, now))


def series(number: str, start: datetime, now: datetime) -> list[dict[str, Any]]:
    """The gauge's quarter-hour values from `start` (inclusive) to `now`."""
    at = quarter(start) + (STEP if quarter(start) < start else timedelta(0))
    points = []
    while at <= now:
        points.append({"timestamp": _local(at), "value": level(number, at)})
        at += STEP
    return points


def create_app(failing: Collection[str] = (), key: str | None = None) -> Starlette:
    """The API; gauges whose uuid is in `failing` answer their series with a 500, and with
    `key` every request needs header X-Api-Key."""
    api = _Api(failing, key)
    return Starlette(
        routes=[
            Route(f"{ROOT}/stations.json", api.stations),
            Route(f"{ROOT}/stations/{{uuid}}/W/measurements.json", api.measurements),
        ]
    )


def _start(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now - timedelta(days=1)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("no offset")
    return max(value, now - timedelta(days=31))


__all__ = ["GAUGES", "ROOT", "create_app", "gauge_uuid", "level"]
