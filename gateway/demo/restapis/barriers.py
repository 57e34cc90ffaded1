"""A barrier-report API in the style of an accessibility app such as Hamburg's FairCare:
citizens report a kerb too high, a broken lift, a blocked pavement; the city works them off.

    GET /reports?district=Altona,Eimsbüttel&category=&status=&severity_min=&severity_max=
                &reported_from=2024-03-01&reported_to=&bbox=minLon,minLat,maxLon,maxLat
                (or min_lon=&min_lat=&max_lon=&max_lat=)
                &limit=20&offset=0          -> {"reports": [...], "total": n}
    GET /reports?paging=cursor&limit=20     -> ... "next_cursor": "…" (then &cursor=…)
    GET /reports/{id}                       -> one report, or 404 {"error": …}

Filters compare exactly (code-point strings, inclusive bounds, box edges included); a
comma list means any of its values. At most 100 reports per page. Each report nests its
address and photos as such apps do (`location.address.street`, `photos[0].url`), gives
lon/lat and the position as WKT in EPSG:25832. The 240 reports come from one seed.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from pyproj import Transformer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.demo.places import HAMBURG

COUNT = 240
MAX_LIMIT = 100
# category -> (description, OSM tagging of the barrier, wheelchair impact)
CATEGORIES: dict[str, tuple[str, str, str]] = {
    "kerb_raised": ("Bordstein zu hoch, keine Absenkung", "barrier=kerb + kerb=raised", "no"),
    "steps": ("Stufen ohne Rampe", "highway=steps", "no"),
    "narrow_passage": ("Gehweg zu schmal", "width<0.9", "limited"),
    "uneven_surface": ("Unebener Belag, Kopfsteinpflaster", "smoothness=bad", "limited"),
    "steep_incline": ("Zu steile Rampe", "incline>6%", "limited"),
    "obstacle": ("Gehweg zugestellt (E-Scooter, Baustelle)", "barrier=*", "limited"),
    "elevator_broken": ("Aufzug außer Betrieb", "highway=elevator", "no"),
    "tactile_paving_missing": ("Blindenleitsystem fehlt", "tactile_paving=no", "limited"),
    "acoustic_signal_missing": ("Ampel ohne Akustiksignal", "traffic_signals:sound=no", "yes"),
}
STATUSES = ("open", "open", "open", "in_progress", "in_progress", "resolved", "rejected")
POSTCODES = {
    "Altona": "22765",
    "Eimsbüttel": "20259",
    "Hamburg-Mitte": "20095",
    "Hamburg-Nord": "22303",
    "Wandsbek": "22041",
    "Bergedorf": "21029",
    "Harburg": "21073",
}
START = datetime(2024, 1, 8, 7, 0, tzinfo=UTC)


@cache
def reports() -> tuple[dict[str, Any], ...]:
    """The reports, oldest first (deterministic)."""
    rng = random.Random(1212)
    to84 = Transformer.from_crs("EPSG:25832", "OGC:CRS84", always_xy=True)
    out = []
    at = START
    for n in range(1, COUNT + 1):
        district = rng.choice(HAMBURG)
        x = round(district.centre[0] + rng.uniform(-1, 1) * district.spread, 2)
        y = round(district.centre[1] + rng.uniform(-1, 1) * district.spread, 2)
        lon, lat = to84.transform(x, y)
        category = rng.choice(sorted(CATEGORIES))
        text, _, wheelchair = CATEGORIES[category]
        at += timedelta(minutes=rng.randint(20, 1400))
        report_id = f"FC-{at.year}-{n:05d}"
        photos = [
            {
                "url": f"https://faircare.example/photos/{report_id}-{i}.jpg",
                "caption": f"Foto {i} von {rng.choice(('Nutzer*in', 'Bezirksamt'))}",
                "width": 1600,
                "height": 1200,
            }
            for i in range(1, rng.randint(0, 3) + 1)
        ]
        out.append(
            {
                "id": report_id,
                "category": category,
                "status": rng.choice(STATUSES),
                "severity": rng.randint(1, 3),
                "wheelchair": wheelchair,
                "reported_at": at.isoformat().replace("+00:00", "Z"),
                "reported_date": at.date().isoformat(),
                "district": district.name,
                "description": f"{text}, {rng.choice(district.streets)}",
                "votes": rng.randint(0, 40),
                "location": {
                    "lon": round(lon, 7),
                    "lat": round(lat, 7),
                    "address": {
                        "street": rng.choice(district.streets),
                        "house_number": str(rng.randint(1, 180)),
                        "postcode": POSTCODES.get(district.name, "20095"),
                    },
                },
                "position_wkt": f"POINT ({x:.2f} {y:.2f})",
                "photos": photos,
                "reporter": {"app": "FairCare", "anonymous": rng.random() < 0.7},
            }
        )
    return tuple(out)


class BadRequest(Exception):
    pass


def _list(params: Any, name: str) -> list[str] | None:
    text = params.get(name)
    return None if text is None else text.split(",")


def _number(params: Any, name: str, kind: type = int) -> Any:
    text = params.get(name)
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise BadRequest(f"{name}: not a number") from None


def matches(params: Any) -> list[dict[str, Any]]:
    """The reports the query parameters select."""
    found = list(reports())
    for name in ("id", "district", "category", "status", "wheelchair"):
        wanted = _list(params, name)
        if wanted is not None:
            found = [r for r in found if r[name] in wanted]
    low, high = _number(params, "severity_min"), _number(params, "severity_max")
    if low is not None:
        found = [r for r in found if r["severity"] >= low]
    if high is not None:
        found = [r for r in found if r["severity"] <= high]
    since, until = params.get("reported_from"), params.get("reported_to")
    if since is not None:
        found = [r for r in found if r["reported_date"] >= since]
    if until is not None:
        found = [r for r in found if r["reported_date"] <= until]
    box = _box(params)
    if box is not None:
        w, s, e, n = box
        found = [
            r for r in found if w <= r["location"]["lon"] <= e and s <= r["location"]["lat"] <= n
        ]
    return found


def _box(params: Any) -> tuple[float, ...] | None:
    """`bbox=minLon,minLat,maxLon,maxLat`, or the four `min_lon`… parameters."""
    try:
        if params.get("bbox") is not None:
            box = tuple(float(v) for v in params["bbox"].split(","))
            if len(box) != 4:
                raise ValueError
            return box
        names = ("min_lon", "min_lat", "max_lon", "max_lat")
        if any(params.get(n) is not None for n in names):
            return tuple(float(params[n]) for n in names)
    except (ValueError, KeyError):
        raise BadRequest("bbox: four numbers minLon,minLat,maxLon,maxLat") from None
    return None


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset_of(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("o:"))
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("cursor: unknown") from None


async def list_reports(request: Request) -> JSONResponse:
    params = request.query_params
    try:
        found = matches(params)
        limit = min(MAX_LIMIT, _number(params, "limit") or 20)
        if params.get("paging") == "cursor":
            offset = _offset_of(params["cursor"]) if "cursor" in params else 0
        else:
            offset = _number(params, "offset") or 0
        if limit < 1 or offset < 0:
            raise BadRequest("limit and offset must be positive")
    except BadRequest as e:
        return JSONResponse({"error": "bad_request", "message": str(e)}, status_code=400)
    page = found[offset : offset + limit]
    doc: dict[str, Any] = {"reports": page, "total": len(found)}
    if params.get("paging") == "cursor":
        doc["next_cursor"] = _cursor(offset + limit) if offset + limit < len(found) else None
    return JSONResponse(doc)


async def one_report(request: Request) -> JSONResponse:
    wanted = request.path_params["report_id"]
    for report in reports():
        if report["id"] == wanted:
            return JSONResponse(report)
    return JSONResponse({"error": "not_found", "message": f"no report {wanted}"}, 404)


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/reports", list_reports),
            Route("/reports/{report_id}", one_report),
        ]
    )


__all__ = ["CATEGORIES", "COUNT", "MAX_LIMIT", "create_app", "matches", "reports"]
