"""A defect-reporting API in the style of a city's "Mängelmelder", speaking Open311
GeoReport v2: München's barrier reports (a lowered kerb missing, a lift out of order) as
service requests, a shape quite unlike the FairCare-style API of `barriers`.

    GET /open311/v2/services.json                 -> [{"service_code", "service_name", …}]
    GET /open311/v2/requests.json?service_request_id=a,b&service_code=301,305
        &status=open|closed&detailed_status=IN_PROCESS&start_date=…&end_date=…
        &extensions=true&page=1&page_size=20       -> [{"service_request_id", …}, …]
    GET /open311/v2/requests/{id}.json            -> [one request], or 404

As GeoReport implementations do, the body is a bare array and errors are
`[{"code": 400, "description": …}]`; comma lists mean any of their values; `start_date` and
`end_date` bound `requested_datetime` (ISO 8601 instants, inclusive). Unlike the spec's
default of the last 90 days, a request without dates selects every report (the demo's are
from 2024). `page` counts from 1, at most 50 per page. `status` is the spec's open/closed;
`extensions=true` adds `extended_attributes`, as several implementations do: the
Stadtbezirk, a `detailed_status` (RECEIVED, IN_PROCESS: open; PROCESSED, REJECTED:
closed), the city's `dringlichkeit` (niedrig, mittel, hoch; null until triaged) and the
count of `unterstuetzungen` (supporters). Closed requests were last updated when closed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from pyproj import Transformer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.demo.places import MUENCHEN

COUNT = 64
MAX_PAGE_SIZE = 50
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2024, 3, 4, 8, 0, tzinfo=BERLIN)
# service_code -> (service_name, category of the profile, wheelchair impact)
SERVICES: dict[str, tuple[str, str, str]] = {
    "301": ("Bordstein nicht abgesenkt", "kerb_raised", "no"),
    "302": ("Stufen ohne Rampe", "steps", "no"),
    "303": ("Aufzug außer Betrieb", "elevator_broken", "no"),
    "304": ("Gehweg zugeparkt oder zugestellt", "obstacle", "limited"),
    "305": ("Baustelle versperrt Gehweg", "obstacle", "limited"),
    "306": ("Gehwegschaden, loses Pflaster", "uneven_surface", "limited"),
    "307": ("Blindenleitsystem fehlt oder beschädigt", "tactile_paving_missing", "limited"),
    "308": ("Ampel ohne Blindensignal", "acoustic_signal_missing", "yes"),
    "309": ("Sonstige Barriere", "other", "limited"),
}
# detailed_status -> (GeoReport status, status_notes)
DETAILED = {
    "RECEIVED": ("open", None),
    "IN_PROCESS": ("open", "Weitergeleitet an das Baureferat."),
    "PROCESSED": ("closed", "Die Barriere wurde beseitigt. Danke für Ihre Meldung!"),
    "REJECTED": ("closed", "Privatgrund: bitte wenden Sie sich an die Eigentümer."),
}
STATUS_MIX = ("RECEIVED", "RECEIVED", "IN_PROCESS", "IN_PROCESS", "PROCESSED", "REJECTED")
URGENCY = ("niedrig", "mittel", "hoch")
POSTCODES = ("80331", "80469", "80333", "80796", "81667", "81369", "81373", "80339", "80634")


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


@cache
def requests() -> tuple[dict[str, Any], ...]:
    """The service requests, oldest first (deterministic)."""
    rng = random.Random(1311)
    to84 = Transformer.from_crs("EPSG:25832", "OGC:CRS84", always_xy=True)
    out = []
    at = START
    for n in range(1, COUNT + 1):
        district = rng.choice(MUENCHEN)
        x = district.centre[0] + rng.uniform(-1, 1) * district.spread
        y = district.centre[1] + rng.uniform(-1, 1) * district.spread
        lon, lat = to84.transform(x, y)
        code = rng.choice(sorted(SERVICES))
        name = SERVICES[code][0]
        detailed = rng.choice(STATUS_MIX)
        status, notes = DETAILED[detailed]
        at += timedelta(minutes=rng.randint(600, 5000))
        updated = at if detailed == "RECEIVED" else at + timedelta(hours=rng.randint(3, 400))
        request_id = str(24000 + n * 7)
        street, number = rng.choice(district.streets), rng.randint(1, 120)
        photo = rng.random() < 0.6
        out.append(
            {
                "service_request_id": request_id,
                "status": status,
                "status_notes": notes,
                "service_name": name,
                "service_code": code,
                "description": f"{name}, {rng.choice(('vor', 'gegenüber'))} {street} {number}",
                "agency_responsible": "Baureferat" if code != "303" else "MVG",
                "service_notice": None,
                "requested_datetime": _stamp(at),
                "updated_datetime": _stamp(updated),
                "expected_datetime": None,
                "address": f"{street} {number}",
                "address_id": None,
                "zipcode": rng.choice(POSTCODES),
                "lat": round(lat, 6),
                "long": round(lon, 6),
                "media_url": f"https://maengel.muenchen.example/media/{request_id}.jpg"
                if photo
                else "",
                "extended_attributes": {
                    "stadtbezirk": district.name,
                    "stadtbezirk_nr": district.number,
                    "detailed_status": detailed,
                    # the city's triage, once a report is worked on; none before
                    "dringlichkeit": None if detailed == "RECEIVED" else rng.choice(URGENCY),
                    "unterstuetzungen": rng.randint(0, 25),
                },
            }
        )
    return tuple(out)


class BadRequest(Exception):
    pass


def _instant(params: Any, name: str) -> datetime | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: not an ISO 8601 date and time") from None
    return value if value.tzinfo else value.replace(tzinfo=BERLIN)


def matches(params: Any) -> list[dict[str, Any]]:
    """The requests the query parameters select, with their extended attributes."""
    found = list(requests())
    for name in ("service_request_id", "service_code", "status"):
        if params.get(name) is not None:
            wanted = params[name].split(",")
            found = [r for r in found if r[name] in wanted]
    if params.get("detailed_status") is not None:
        wanted = params["detailed_status"].split(",")
        found = [r for r in found if r["extended_attributes"]["detailed_status"] in wanted]
    since, until = _instant(params, "start_date"), _instant(params, "end_date")
    if since is not None:
        found = [r for r in found if datetime.fromisoformat(r["requested_datetime"]) >= since]
    if until is not None:
        found = [r for r in found if datetime.fromisoformat(r["requested_datetime"]) <= until]
    return found


def _shown(request: dict[str, Any], extensions: bool) -> dict[str, Any]:
    """The spec's fields, plus `extended_attributes` when the client asked for them."""
    if extensions:
        return request
    return {k: v for k, v in request.items() if k != "extended_attributes"}


def _error(code: int, text: str) -> JSONResponse:
    return JSONResponse([{"code": code, "description": text}], status_code=code)


def _positive(params: Any, name: str, default: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise BadRequest(f"{name}: not a number") from None
    if value < 1:
        raise BadRequest(f"{name}: must be at least 1")
    return value


async def list_requests(request: Request) -> JSONResponse:
    params = request.query_params
    try:
        found = matches(params)
        page = _positive(params, "page", 1)
        size = min(MAX_PAGE_SIZE, _positive(params, "page_size", 20))
    except BadRequest as e:
        return _error(400, str(e))
    extensions = params.get("extensions") == "true"
    chosen = found[(page - 1) * size : page * size]
    return JSONResponse([_shown(r, extensions) for r in chosen])


async def one_request(request: Request) -> JSONResponse:
    wanted = request.path_params["request_id"]
    extensions = request.query_params.get("extensions") == "true"
    for found in requests():
        if found["service_request_id"] == wanted:
            return JSONResponse([_shown(found, extensions)])
    return _error(404, f"no service request {wanted}")


async def services(request: Request) -> JSONResponse:
    return JSONResponse(
        [
            {
                "service_code": code,
                "service_name": name,
                "description": name,
                "metadata": False,
                "type": "realtime",
                "keywords": "barrierefreiheit",
                "group": "Barrierefreiheit",
            }
            for code, (name, _, _) in SERVICES.items()
        ]
    )


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/open311/v2/services.json", services),
            Route("/open311/v2/requests.json", list_requests),
            Route("/open311/v2/requests/{request_id}.json", one_request),
        ]
    )


__all__ = ["COUNT", "DETAILED", "MAX_PAGE_SIZE", "SERVICES", "create_app", "matches", "requests"]
