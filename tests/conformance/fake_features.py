"""A small, correct OGC API – Features server with Part 2 (CRS) and Part 3 (CQL2 filters),
written for the conformance suite's own tests: the gateway does not implement those parts
yet, and each check must be shown to pass on a correct server before it is shown to fail
on a broken one. CQL2 is evaluated with the `cql2` library; the suite has its own
evaluator, so the two are independent.

Data: 60 trees around Hamburg (deterministic), some without height, one without a
geometry and one without a planting date.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode

import cql2
from pyproj import CRS, Transformer
from shapely.geometry import box, shape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

F1, F2, F3 = (f"http://www.opengis.net/spec/ogcapi-features-{n}/1.0/conf" for n in (1, 2, 3))
CQL = "http://www.opengis.net/spec/cql2/1.0/conf"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS_LIST = [
    CRS84,
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/25832",
]
CONFORMANCE = [
    f"{F1}/core",
    f"{F1}/geojson",
    f"{F1}/oas30",
    f"{F2}/crs",
    f"{F3}/queryables",
    f"{F3}/queryables-query-parameters",
    f"{F3}/filter",
    f"{F3}/features-filter",
    *(
        f"{CQL}/{c}"
        for c in (
            "basic-cql2",
            "advanced-comparison-operators",
            "case-insensitive-comparison",
            "accent-insensitive-comparison",
            "basic-spatial-functions",
            "basic-spatial-functions-plus",
            "spatial-functions",
            "temporal-functions",
            "property-property",
            "arithmetic",
            "cql2-text",
            "cql2-json",
        )
    ),
]
GEOJSON, JSON_TYPE = "application/geo+json", "application/json"
NAMES = ["Linde", "Ahorn", "Eiche", "Kastanie", "Platane", "Birke"]
STREETS = ["Mönckebergstrasse", "Jungfernstieg", "Rübenkamp", "Elbchaussee", "Ost-West-Allee"]
GENERA = ["Tilia", "Acer", "Quercus", "Aesculus", "Platanus", "Betula"]
QUERYABLE_TYPES = {"name": "string", "genus": "string", "street": "string", "height": "number"}


def make_features() -> list[dict[str, Any]]:
    rng = random.Random(4711)
    features = []
    for i in range(1, 61):
        k = rng.randrange(len(NAMES))
        planted = date(1990, 1, 1) + timedelta(days=rng.randrange(12_000))
        features.append(
            {
                "type": "Feature",
                "id": i,
                "geometry": {
                    "type": "Point",
                    "coordinates": [
                        round(9.8 + rng.random() * 0.4, 6),
                        round(53.45 + rng.random() * 0.2, 6),
                    ],
                },
                "properties": {
                    "name": f"{NAMES[k]} {rng.choice(['Nord', 'Süd', 'West'])}",
                    "genus": GENERA[k],
                    "street": rng.choice(STREETS),
                    "height": None if i % 7 == 0 else round(4 + rng.random() * 20, 1),
                    "girth": rng.randrange(40, 300),
                    "planted": None if i == 13 else planted.isoformat(),
                },
            }
        )
    features[20]["geometry"] = None
    return features


class BadRequest(Exception):
    pass


@cache
def _mover(target: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(CRS84), CRS.from_user_input(target))


def _to(geometry: dict | None, target: str) -> dict | None:
    if geometry is None or target == CRS84:
        return geometry
    digits = 7 if "4326" in target else 3
    x, y = _mover(target).transform(*geometry["coordinates"][:2])
    coords = [round(x, digits), round(y, digits)]
    return {"type": "Point", "coordinates": coords}


def _bbox_match(feature: dict, bbox: list[float], crs: str) -> bool:
    if feature["geometry"] is None:
        return False  # no geometry cannot intersect (/req/core/fc-bbox-response A)
    geometry = shape(_to(feature["geometry"], crs))
    if crs == CRS84 and bbox[0] > bbox[2]:
        return geometry.intersects(box(bbox[0], bbox[1], 180, bbox[3])) or geometry.intersects(
            box(-180, bbox[1], bbox[2], bbox[3])
        )
    return geometry.intersects(box(*bbox))


def _date_match(feature: dict, value: str) -> bool:
    planted = feature["properties"]["planted"]
    if planted is None:
        return True
    day = datetime.fromisoformat(planted).replace(tzinfo=UTC)
    start_text, _, end_text = value.partition("/") if "/" in value else (value, "", value)

    def parse(text: str) -> datetime | None:
        if text in ("", ".."):
            return None
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(f"datetime: {text!r}") from None

    start, end = parse(start_text), parse(end_text)
    return (end is None or day <= end) and (start is None or day + timedelta(days=1) > start)


def _filter(params: dict[str, str]):
    text, lang = params.get("filter"), params.get("filter-lang", "cql2-text")
    if text is None:
        return None
    try:
        expr = cql2.parse_text(text) if lang == "cql2-text" else None
        if lang == "cql2-json":
            expr = cql2.parse_json(text)
        if expr is None:
            raise BadRequest(f"unknown filter-lang {lang}")
    except (ValueError, cql2.ParseError, cql2.ValidationError) as e:
        raise BadRequest(f"filter: {e}") from None

    def matches(feature: dict) -> bool:
        try:
            return bool(expr.matches(feature))
        except Exception:  # NULL somewhere: the filter is not TRUE
            return False

    return matches


ITEMS_PARAMS = {"limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang"}


def select(features: list[dict], params: dict[str, str]) -> list[dict]:
    unknown = set(params) - ITEMS_PARAMS - set(QUERYABLE_TYPES)
    if unknown:
        raise BadRequest(f"unknown parameters {sorted(unknown)}")
    out = features
    if "bbox" in params:
        try:
            bbox = [float(v) for v in params["bbox"].split(",")]
        except ValueError:
            raise BadRequest("bbox") from None
        if len(bbox) != 4:
            raise BadRequest("bbox")
        crs = params.get("bbox-crs", CRS84)
        if crs not in CRS_LIST:
            raise BadRequest("bbox-crs")
        out = [f for f in out if _bbox_match(f, bbox, crs)]
    if "datetime" in params:
        out = [f for f in out if _date_match(f, params["datetime"])]
    for name, kind in QUERYABLE_TYPES.items():
        if name in params:
            want: Any = float(params[name]) if kind == "number" else params[name]
            out = [f for f in out if f["properties"].get(name) == want]
    predicate = _filter(params)
    return [f for f in out if predicate(f)] if predicate else out


def _int(params: dict[str, str], name: str, default: int, low: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise BadRequest(name) from None
    if value < low:
        raise BadRequest(name)
    return value


def link(href: str, rel: str, type_: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_}


class FakeFeatures:
    def __init__(self) -> None:
        self.features = make_features()

    def base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def collection_doc(self, base: str) -> dict[str, Any]:
        url = f"{base}/collections/trees"
        return {
            "id": "trees",
            "title": "Trees",
            "description": "Street trees (test data)",
            "itemType": "feature",
            "crs": CRS_LIST,
            "storageCrs": CRS84,
            "extent": {
                "spatial": {"bbox": [[9.8, 53.45, 10.2, 53.65]], "crs": CRS84},
                "temporal": {"interval": [["1990-01-01T00:00:00Z", "2023-01-01T00:00:00Z"]]},
            },
            "links": [
                link(url, "self", JSON_TYPE),
                link(f"{url}/items", "items", GEOJSON),
                link(
                    f"{url}/queryables",
                    "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                    "application/schema+json",
                ),
            ],
        }

    async def landing(self, request: Request) -> Response:
        b = self.base(request)
        return JSONResponse(
            {
                "title": "Fake Features",
                "links": [
                    link(f"{b}/", "self", JSON_TYPE),
                    link(
                        f"{b}/api", "service-desc", "application/vnd.oai.openapi+json;version=3.0"
                    ),
                    link(f"{b}/api.html", "service-doc", "text/html"),
                    link(f"{b}/conformance", "conformance", JSON_TYPE),
                    link(f"{b}/collections", "data", JSON_TYPE),
                ],
            }
        )

    async def api_html(self, request: Request) -> Response:
        return Response("<!DOCTYPE html><html><body>API</body></html>", media_type="text/html")

    async def conformance(self, request: Request) -> Response:
        return JSONResponse(
            {
                "links": [link(f"{self.base(request)}/conformance", "self", JSON_TYPE)],
                "conformsTo": CONFORMANCE,
            }
        )

    async def collections(self, request: Request) -> Response:
        b = self.base(request)
        return JSONResponse(
            {
                "links": [link(f"{b}/collections", "self", JSON_TYPE)],
                "collections": [self.collection_doc(b)],
            }
        )

    async def collection(self, request: Request) -> Response:
        if request.path_params["cid"] != "trees":
            return JSONResponse({"code": "NotFound"}, 404)
        return JSONResponse(self.collection_doc(self.base(request)))

    async def queryables(self, request: Request) -> Response:
        url = f"{self.base(request)}/collections/trees/queryables"
        props: dict[str, Any] = {n: {"type": t} for n, t in QUERYABLE_TYPES.items()}
        props["girth"] = {"type": "integer"}
        props["planted"] = {"type": "string", "format": "date"}
        props["geometry"] = {"format": "geometry-point"}
        doc = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": url,
            "type": "object",
            "properties": props,
            "additionalProperties": False,
        }
        return Response(json.dumps(doc), media_type="application/schema+json")

    def _crs(self, params: dict[str, str]) -> str:
        crs = params.get("crs", CRS84)
        if crs not in CRS_LIST:
            raise BadRequest("crs")
        return crs

    async def items(self, request: Request) -> Response:
        params = dict(request.query_params)
        try:
            crs = self._crs(params)
            limit = min(_int(params, "limit", 10, 1), 1000)
            offset = _int(params, "offset", 0, 0)
            selected = select(self.features, params)
        except BadRequest as e:
            return JSONResponse({"code": "InvalidParameterValue", "description": str(e)}, 400)
        page = [
            {**f, "geometry": _to(f["geometry"], crs)} for f in selected[offset : offset + limit]
        ]
        url = f"{self.base(request)}/collections/trees/items"
        keep = {k: v for k, v in params.items() if k not in ("offset",)}
        links = [link(f"{url}?{urlencode({**keep, 'offset': offset})}", "self", GEOJSON)]
        if offset + limit < len(selected):
            nxt = urlencode({**keep, "limit": limit, "offset": offset + limit})
            links.append(link(f"{url}?{nxt}", "next", GEOJSON))
        if offset > 0:
            prev = urlencode({**keep, "limit": limit, "offset": max(offset - limit, 0)})
            links.append(link(f"{url}?{prev}", "prev", GEOJSON))
        doc = {
            "type": "FeatureCollection",
            "features": page,
            "links": links,
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "numberMatched": len(selected),
            "numberReturned": len(page),
        }
        return Response(json.dumps(doc), media_type=GEOJSON, headers={"Content-Crs": f"<{crs}>"})

    async def item(self, request: Request) -> Response:
        params = dict(request.query_params)
        try:
            crs = self._crs(params)
            if set(params) - {"crs"}:
                raise BadRequest("unknown parameter")
        except BadRequest as e:
            return JSONResponse({"code": "InvalidParameterValue", "description": str(e)}, 400)
        found = [f for f in self.features if str(f["id"]) == request.path_params["fid"]]
        if not found:
            return JSONResponse({"code": "NotFound"}, 404)
        url = f"{self.base(request)}/collections/trees"
        doc = {
            **found[0],
            "geometry": _to(found[0]["geometry"], crs),
            "links": [
                link(f"{url}/items/{found[0]['id']}", "self", GEOJSON),
                link(url, "collection", JSON_TYPE),
            ],
        }
        return Response(json.dumps(doc), media_type=GEOJSON, headers={"Content-Crs": f"<{crs}>"})

    async def api(self, request: Request) -> Response:
        from tests.conformance.fake_openapi import openapi

        return Response(
            json.dumps(openapi(self.base(request))),
            media_type="application/vnd.oai.openapi+json;version=3.0",
        )


def make_app() -> Starlette:
    fake = FakeFeatures()
    return Starlette(
        routes=[
            Route("/", fake.landing),
            Route("/api", fake.api),
            Route("/api.html", fake.api_html),
            Route("/conformance", fake.conformance),
            Route("/collections", fake.collections),
            Route("/collections/{cid}", fake.collection),
            Route("/collections/trees/items", fake.items),
            Route("/collections/trees/items/{fid}", fake.item),
            Route("/collections/trees/queryables", fake.queryables),
        ]
    )
