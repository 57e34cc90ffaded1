"""Part 2, Coordinate Reference Systems by Reference (ETS crs.* packages; beyond the ETS:
the coordinates returned for `crs` are compared with the suite's own transformation of
the CRS84 coordinates, and `bbox-crs` results with the exact set of intersecting items).

Coordinates are in the axis order of the CRS (EPSG:4326 is latitude, longitude), as
Part 2 and PROJ's authority order have it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from shapely.geometry import box as make_box
from shapely.geometry import shape

from conformance.context import Problems, Test, expect
from conformance.features import api
from conformance.features import openapi as oas
from conformance.features.feature import feature_url
from conformance.features.itemvalues import quadrant_box
from conformance.features.names import CRS as CRS_CLASS
from conformance.features.names import CRS84, CRS84H, GEOJSON, UNSUPPORTED_CRS, crs
from conformance.geo import positions
from conformance.model import CheckSkipped
from conformance.registry import FEATURES, check

CRS_URI = crs("crs-uri", "Each CRS supported SHALL be referenceable by a URI")
MD_CRS_LIST = crs(
    "fc-md-crs-list", "A collection's crs list SHALL name its CRSs, including CRS84 or CRS84h"
)
MD_CRS_GLOBAL = crs("fc-md-crs-list-global", "`#/crs` SHALL refer to a global list on /collections")
STORAGE_CRS = crs(
    "fc-md-storageCrs-valid-value", "storageCrs SHALL be one of the collection's CRSs"
)
CRS_DEFINITION = crs("fc-crs-definition", "Items and item SHALL support a `crs` parameter")
BBOX_CRS_DEFINITION = crs("fc-bbox-crs-definition", "Items SHALL support a `bbox-crs` parameter")
CRS_HEADER_VALUE = crs(
    "ogc-crs-header-value", "Content-Crs SHALL be <URI> of the CRS used in the response"
)
CRS_DEFAULT = crs("fc-crs-default-value", "Without `crs`, geometries SHALL be in CRS84 (CRS84h)")
CRS_VALID = crs("fc-crs-valid-value", "A `crs` not in the collection's list SHALL be answered 400")
CRS_ACTION = crs("fc-crs-action", "With `crs`, geometries SHALL be in the requested CRS")
BBOX_ACTION = crs("fc-bbox-crs-action", "`bbox` values SHALL be read in the `bbox-crs` CRS")
BBOX_VALID = crs("fc-bbox-crs-valid-value", "A `bbox-crs` not supported SHALL be answered 400")
BBOX_DEFAULT = crs(
    "fc-bbox-crs-valid-default-value", "Without `bbox-crs`, `bbox` SHALL be read in CRS84"
)
NEEDS = (CRS_CLASS.uri,)
MAX_CRS = 4


def is_crs_uri(value: Any) -> bool:
    return isinstance(value, str) and bool(
        re.match(r"^(https?://\S+|urn:ogc:def:crs:\S+|\[[A-Za-z0-9._-]+:[^\]]+\])$", value)
    )


@cache
def proj(uri: str) -> ProjCRS:
    return ProjCRS.from_user_input(uri)


@cache
def from_crs84(uri: str) -> Transformer:
    return Transformer.from_crs(proj(CRS84), proj(uri))  # authority axis order on both sides


def tolerance(uri: str) -> float:
    unit = (proj(uri).axis_info[0].unit_name or "").lower()
    return 1e-5 if "degree" in unit else 1.0


async def global_crs(t: Test) -> list[str]:
    doc = api.usable(await api.collections_fetch(t), "/collections", "/req/core/fc-md-op")
    value = doc.get("crs")
    return [c for c in value if isinstance(c, str)] if isinstance(value, list) else []


async def collection_crs(t: Test) -> list[str]:
    """The collection's CRS list with `#/crs` expanded."""
    doc = await api.collection(t, t.collection)
    listed = doc.get("crs")
    if not isinstance(listed, list):
        return []
    out: list[str] = []
    for c in listed:
        out += await global_crs(t) if c == "#/crs" else [c] if isinstance(c, str) else []
    return out


async def other_crs(t: Test) -> list[str]:
    """Up to MAX_CRS supported CRSs besides CRS84, the storage CRS first; only ones PROJ knows."""
    doc = await api.collection(t, t.collection)
    listed = await collection_crs(t)
    storage = doc.get("storageCrs")
    ordered = ([storage] if storage in listed else []) + listed
    chosen: list[str] = []
    for uri in ordered:
        if uri in (CRS84, CRS84H) or uri in chosen or not is_crs_uri(uri):
            continue
        try:
            proj(uri)
        except Exception:  # a CRS PROJ does not know cannot be compared
            continue
        chosen.append(uri)
    return chosen[:MAX_CRS]


@check(
    CRS_URI,
    "crs/crs-uri",
    "crs and storageCrs values are CRS URIs",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def crs_uris(t: Test) -> str:
    found = Problems()
    for value in await global_crs(t):
        found.check(is_crs_uri(value), f"/collections crs {value!r} is not a URI")
    entry = await api.collection_entry(t, t.collection)
    doc = await api.collection(t, t.collection)
    for where, d in (("/collections entry", entry), (f"/collections/{t.collection}", doc)):
        for value in d.get("crs") or []:
            found.check(value == "#/crs" or is_crs_uri(value), f"{where}: crs {value!r}")
        if "storageCrs" in d:
            found.check(is_crs_uri(d["storageCrs"]), f"{where}: storageCrs {d['storageCrs']!r}")
    found.raise_if_any("not a CRS URI")
    return "all CRS identifiers are URIs"


@check(
    MD_CRS_LIST,
    "crs/fc-md-crs-list",
    "the collection lists its CRSs, CRS84 among them",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def crs_list(t: Test) -> str:
    listed = await collection_crs(t)
    expect(listed, f"/collections/{t.collection} has no crs list")
    expect(CRS84 in listed or CRS84H in listed, f"the crs list {listed} lacks CRS84 and CRS84h")
    return f"{len(listed)} CRSs"


@check(
    MD_CRS_GLOBAL,
    "crs/fc-md-crs-list-global",
    "#/crs is backed by a global list",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def crs_global(t: Test) -> str:
    doc = await api.collection(t, t.collection)
    if "#/crs" not in (doc.get("crs") or []):
        raise CheckSkipped("the collection does not use #/crs")
    expect(await global_crs(t), "the collection uses #/crs but /collections has no crs list")
    return "#/crs refers to the global list"


@check(
    STORAGE_CRS,
    "crs/fc-md-storageCrs-valid-value",
    "storageCrs is one of the collection's CRSs",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def storage_crs(t: Test) -> str:
    doc = await api.collection(t, t.collection)
    if "storageCrs" not in doc:
        raise CheckSkipped("no storageCrs")
    listed = await collection_crs(t)
    expect(doc["storageCrs"] in listed, f"storageCrs {doc['storageCrs']!r} is not in {listed}")
    return f"storageCrs {doc['storageCrs']}"


def _definition_problems(name: str, param: dict | None, schema: dict) -> list[str]:
    if param is None:
        return [f"no {name} parameter"]
    found = []
    if param.get("in") != "query":
        found.append(f"{name}: in is {param.get('in')!r}")
    if param.get("required") is True or param.get("explode") is True:
        found.append(f"{name}: must be optional and not exploded")
    if param.get("style", "form") != "form" or schema.get("type") != "string":
        found.append(f"{name}: must be a form-style string parameter")
    return found


async def _op_params(t: Test, url: str) -> tuple[dict, dict[str, dict]]:
    doc = await api.api_definition(t)
    template = oas.find_path(doc, (await api.landing_fetch(t)).url, url)
    expect(template is not None, f"the API definition has no path for {url}")
    return doc, oas.parameters(doc, template)  # type: ignore[arg-type]


@check(
    CRS_DEFINITION,
    "crs/fc-crs-definition",
    "crs declared on items and item",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def crs_definition(t: Test) -> str:
    found = Problems()
    for url in (api.items_url(t, t.collection), await feature_url(t)):
        doc, params = await _op_params(t, url)
        p = params.get("crs")
        for problem in _definition_problems("crs", p, oas.parameter_schema(doc, p or {})):
            found.add(f"{url}: {problem}")
    found.raise_if_any()
    return "crs declared on both operations"


@check(
    BBOX_CRS_DEFINITION,
    "crs/fc-bbox-crs-definition",
    "bbox-crs declared on items",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def bbox_crs_definition(t: Test) -> str:
    doc, params = await _op_params(t, api.items_url(t, t.collection))
    p = params.get("bbox-crs")
    problems = _definition_problems("bbox-crs", p, oas.parameter_schema(doc, p or {}))
    expect(not problems, "; ".join(problems))
    return "bbox-crs declared"


def _header(got: Any) -> str:
    return got.headers.get("content-crs", "").strip()


@check(
    CRS_HEADER_VALUE,
    "crs/ogc-crs-header-value",
    "crs=X answers 200 with Content-Crs: <X>",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def crs_header(t: Test) -> str:
    found = Problems()
    uris = [u for u in await collection_crs(t) if is_crs_uri(u)]  # others: see crs-uri
    for uri in uris[: MAX_CRS + 2]:
        for url in (api.items_url(t, t.collection), await feature_url(t)):
            got = await t.get(url, params={"crs": uri}, accept=GEOJSON, cache=True)
            if found.check(got.status == 200, f"{got.url}: status {got.status}"):
                found.check(_header(got) == f"<{uri}>", f"{got.url}: Content-Crs {_header(got)!r}")
    found.raise_if_any()
    return f"Content-Crs right for {len(uris[: MAX_CRS + 2])} CRSs"


@check(
    CRS_DEFAULT,
    "crs/fc-crs-default-value",
    "without crs, Content-Crs is CRS84",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def crs_default(t: Test) -> str:
    found = Problems()
    for got in (
        await api.first_page_fetch(t, t.collection),
        await t.get(await feature_url(t), accept=GEOJSON, cache=True),
    ):
        found.check(
            _header(got) in (f"<{CRS84}>", f"<{CRS84H}>"),
            f"{got.url}: Content-Crs {_header(got)!r}, expected <{CRS84}>",
        )
    found.raise_if_any()
    return "Content-Crs names CRS84"


@check(
    CRS_VALID,
    "crs/fc-crs-valid-value",
    "an unsupported crs answers 400",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def crs_invalid(t: Test) -> str:
    found = Problems()
    for url in (api.items_url(t, t.collection), await feature_url(t)):
        got = await t.get(url, params={"crs": UNSUPPORTED_CRS}, accept=GEOJSON)
        found.check(got.status == 400, f"{got.url}: expected 400, got {got.status}")
    found.raise_if_any()
    return "400 for an unsupported crs"


def _by_id(doc: dict[str, Any]) -> dict[str, Any]:
    return {str(f.get("id")): f.get("geometry") for f in api.features_of(doc) if "id" in f}


@check(
    CRS_ACTION,
    "crs/fc-crs-action",
    "coordinates returned for crs=X equal the suite's transformation of the CRS84 ones",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
    beyond_cite=True,
)
async def crs_transform(t: Test) -> str:
    uris = await other_crs(t)
    if not uris:
        raise CheckSkipped("the collection offers no CRS besides CRS84 that PROJ knows")
    url = api.items_url(t, t.collection)
    base = await t.get(url, params={"limit": "50"}, accept=GEOJSON, cache=True)
    reference = _by_id(base.json_object())
    found = Problems()
    for uri in uris:
        got = await t.get(url, params={"limit": "50", "crs": uri}, accept=GEOJSON, cache=True)
        if not found.check(got.status == 200, f"crs={uri}: status {got.status}"):
            continue
        mover, tol = from_crs84(uri), tolerance(uri)
        for fid, geometry in _by_id(got.json_object()).items():
            if fid not in reference:
                continue
            want = [mover.transform(p[0], p[1]) for p in positions(reference[fid])]
            have = [p[:2] for p in positions(geometry)]
            off = max(
                (
                    abs(a - b)
                    for w, h in zip(want, have, strict=False)
                    for a, b in zip(w, h, strict=False)
                ),
                default=0.0,
            )
            if len(want) != len(have) or off > tol:
                found.add(
                    f"crs={uri}: feature {fid} at {have[:1]}, "
                    f"expected {[list(w) for w in want[:1]]}"
                )
    found.raise_if_any()
    return f"coordinates agree within tolerance for {len(uris)} CRS(s)"


async def _box_in(t: Test, uri: str) -> tuple[list[float], list[float]] | None:
    """The suite's test box (CRS84) and its bounding box in `uri`, in that CRS's axis order."""
    quad = await quadrant_box(t)
    if quad is None:
        return None
    minx, miny, maxx, maxy = quad.bbox
    mover = from_crs84(uri)
    corners = [mover.transform(x, y) for x in (minx, maxx) for y in (miny, maxy)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return quad.bbox, [min(xs), min(ys), max(xs), max(ys)]


def _expected(features: list[dict], uri: str, box: list[float]) -> tuple[set[str], set[str]]:
    """Ids surely inside the box in `uri`, and ids too close to its edge to tell."""
    mover, tol = from_crs84(uri), tolerance(uri)
    target = make_box(*box)
    inside, unsure = set(), set()
    for f in features:
        if f.get("geometry") is None:
            continue  # no geometry intersects no box (/req/core/fc-bbox-response A)
        moved = shapely.transform(
            shape(f["geometry"]), lambda xy: np.column_stack(mover.transform(xy[:, 0], xy[:, 1]))
        )
        distance = moved.distance(target.exterior)
        if distance <= tol:
            unsure.add(str(f.get("id")))
        elif moved.intersects(target):
            inside.add(str(f.get("id")))
    return inside, unsure
