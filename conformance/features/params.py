"""Part 1 Core: the query parameters limit, bbox and datetime, and how the server answers
invalid and unknown parameters (A.2.7; ETS FeaturesLimit, FeaturesBBox, FeaturesTime,
FeaturesErrorConditions)."""

from __future__ import annotations

from typing import Any

from conformance.context import Problems, Test, expect, expect_status
from conformance.features import api
from conformance.features import openapi as oas
from conformance.features.itemvalues import bbox_param
from conformance.features.names import GEOJSON, core
from conformance.features.samples import cite_bboxes, cite_datetimes, limit_values
from conformance.geo import as_shape, bbox_shape, outside_crs84
from conformance.model import CheckSkipped
from conformance.registry import FEATURES, check

FC_LIMIT_DEFINITION = core("fc-limit-definition", "The items operation SHALL support `limit`")
FC_LIMIT_RESPONSE = core(
    "fc-limit-response",
    "The response SHALL NOT contain more features than `limit` (nor than its declared maximum)",
)
FC_BBOX_DEFINITION = core("fc-bbox-definition", "The items operation SHALL support `bbox`")
FC_BBOX_RESPONSE = core(
    "fc-bbox-response",
    "With `bbox`, only features whose geometry intersects the box SHALL be returned",
)
FC_TIME_DEFINITION = core("fc-time-definition", "The items operation SHALL support `datetime`")
FC_TIME_RESPONSE = core(
    "fc-time-response",
    "With `datetime`, only features whose temporal geometry intersects it SHALL be returned",
)
INVALID = core(
    "query-param-invalid", "A query parameter with an invalid value SHALL be answered with 400"
)
UNKNOWN = core(
    "query-param-unknown",
    "A query parameter not specified in the API definition SHALL be answered with 400",
)


def _shape_problems(name: str, p: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    found = []
    if p.get("in") != "query":
        found.append(f"{name}: in is {p.get('in')!r}, not 'query'")
    if p.get("required") is True:
        found.append(f"{name}: required is true")
    if p.get("style", "form") != "form":
        found.append(f"{name}: style is {p.get('style')!r}, not 'form'")
    if p.get("explode") is True:
        found.append(f"{name}: explode is true")
    return found


async def _parameter(t: Test, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc, params = await api.items_parameters(t, t.collection)
    param = params.get(name)
    expect(param is not None, f"the items operation of '{t.collection}' declares no {name}")
    return param, oas.parameter_schema(doc, param)  # type: ignore[arg-type]


@check(
    FC_LIMIT_DEFINITION,
    "core/fc-limit-definition",
    "the API definition declares limit as the standard says",
    suite=FEATURES,
    per_collection=True,
)
async def limit_definition(t: Test) -> str:
    param, schema = await _parameter(t, "limit")
    found = Problems()
    for p in _shape_problems("limit", param, schema):
        found.add(p)
    found.check(schema.get("type") == "integer", f"limit: schema type is {schema.get('type')!r}")
    for key in ("minimum", "default"):
        value = schema.get(key)
        found.check(
            isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            f"limit: schema {key} must be an integer >= 0, is {value!r}",
        )
    found.raise_if_any()
    return f"limit: minimum {schema.get('minimum')}, default {schema.get('default')}"


@check(
    FC_LIMIT_RESPONSE,
    "core/fc-limit-response",
    "limit (minimum, middle, maximum) caps the features returned",
    suite=FEATURES,
    per_collection=True,
)
async def limit_response(t: Test) -> str:
    limits, maximum = await limit_values(t)
    if not limits:
        raise CheckSkipped("not tested: no usable limit definition (see fc-limit-definition)")
    found = Problems()
    for n in limits:
        page = await t.get(
            api.items_url(t, t.collection), params={"limit": str(n)}, accept=GEOJSON, cache=True
        )
        if not found.check(page.status == 200, f"limit={n}: status {page.status}"):
            continue
        got = len(api.features_of(page.json_object()))
        cap = min(n, maximum) if maximum else n
        found.check(got <= cap, f"limit={n}: {got} features returned, at most {cap} allowed")
    found.raise_if_any()
    return f"limits {limits} respected"


@check(
    FC_LIMIT_RESPONSE,
    "core/fc-limit-response-above-maximum",
    "a limit above the declared maximum is no error and is capped",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def limit_above_maximum(t: Test) -> str:
    _, maximum = await limit_values(t)
    if not maximum:
        raise CheckSkipped("the API definition declares no maximum for limit")
    page = await t.get(
        api.items_url(t, t.collection), params={"limit": str(maximum + 1)}, accept=GEOJSON
    )
    expect_status(page, 200)
    got = len(api.features_of(page.json_object()))
    expect(got <= maximum, f"limit={maximum + 1}: {got} features, the maximum is {maximum}")
    return f"limit={maximum + 1} answered 200 with {got} features"


@check(
    FC_BBOX_DEFINITION,
    "core/fc-bbox-definition",
    "the API definition declares bbox as the standard says",
    suite=FEATURES,
    per_collection=True,
)
async def bbox_definition(t: Test) -> str:
    param, schema = await _parameter(t, "bbox")
    found = Problems()
    for p in _shape_problems("bbox", param, schema):
        found.add(p)
    found.check(schema.get("type") == "array", f"bbox: schema type is {schema.get('type')!r}")
    sizes = (schema.get("minItems"), schema.get("maxItems"))
    alternatives = {
        (o.get("minItems"), o.get("maxItems"))
        for o in schema.get("oneOf") or []
        if isinstance(o, dict)
    }
    found.check(
        sizes == (4, 6) or {(4, 4), (6, 6)} <= alternatives,
        f"bbox: must allow 4 or 6 items (minItems/maxItems are {sizes})",
    )
    items = oas.resolve({}, schema.get("items")) or {}
    found.check(items.get("type") == "number", f"bbox: items type is {items.get('type')!r}")
    found.raise_if_any()
    return "bbox: array of 4 or 6 numbers, form style"


def _intersects(feature: dict[str, Any], bbox: list[float]) -> bool | None:
    geometry = feature.get("geometry")
    if geometry is None:
        return False  # /req/core/fc-bbox-response A: only features with a geometry that intersects
    shape = as_shape(geometry)
    return None if shape is None else shape.intersects(bbox_shape(bbox))


@check(
    FC_BBOX_RESPONSE,
    "core/fc-bbox-response",
    "features returned for the ETS boxes intersect them",
    suite=FEATURES,
    per_collection=True,
)
async def bbox_response(t: Test) -> str:
    found = Problems()
    seen = 0
    for box in await cite_bboxes(t):
        param = bbox_param(box)
        page = await t.get(
            api.items_url(t, t.collection), params={"bbox": param}, accept=GEOJSON, cache=True
        )
        if not found.check(page.status == 200, f"bbox={param}: status {page.status}"):
            continue
        for f in api.features_of(page.json_object())[:100]:
            seen += 1
            outside = outside_crs84(f.get("geometry"))
            found.check(outside is None, f"bbox={param}: feature {f.get('id')!r} at {outside}")
            why = "has no geometry" if f.get("geometry") is None else "does not intersect the box"
            found.check(
                _intersects(f, box) is not False, f"bbox={param}: feature {f.get('id')!r} {why}"
            )
    found.raise_if_any()
    return f"{seen} returned features intersect their boxes"


@check(
    FC_TIME_DEFINITION,
    "core/fc-time-definition",
    "the API definition declares datetime as the standard says",
    suite=FEATURES,
    per_collection=True,
)
async def time_definition(t: Test) -> str:
    param, schema = await _parameter(t, "datetime")
    found = Problems()
    for p in _shape_problems("datetime", param, schema):
        found.add(p)
    found.check(schema.get("type") == "string", f"datetime: schema type is {schema.get('type')!r}")
    found.raise_if_any()
    return "datetime: string, form style"


@check(
    FC_TIME_RESPONSE,
    "core/fc-time-response",
    "datetime instants and intervals inside the temporal extent answer 200 (ETS method)",
    suite=FEATURES,
    per_collection=True,
)
async def time_response(t: Test) -> str:
    values = await cite_datetimes(t)
    if not values:
        raise CheckSkipped("the collection has no usable temporal extent")
    found = Problems()
    for value, strict in values:
        page = await t.get(
            api.items_url(t, t.collection), params={"datetime": value}, accept=GEOJSON
        )
        allowed = (200,) if strict else (200, 400)
        found.check(page.status in allowed, f"datetime={value}: status {page.status}")
    found.raise_if_any()
    return f"{len(values)} datetime values accepted"


async def _items_status(t: Test, params: dict[str, str]) -> tuple[int, str]:
    page = await t.get(api.items_url(t, t.collection), params=params, accept=GEOJSON)
    return page.status, page.url


@check(
    INVALID,
    "core/query-param-invalid",
    "limit=unlimited answers 400",
    suite=FEATURES,
    per_collection=True,
)
async def param_invalid(t: Test) -> str:
    status, url = await _items_status(t, {"limit": "unlimited"})
    expect(status == 400, f"GET {url}: expected 400, got {status}")
    return "400 for limit=unlimited"


@check(
    INVALID,
    "core/query-param-invalid-more",
    "malformed bbox and datetime values answer 400",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def param_invalid_more(t: Test) -> str:
    cases = [
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"datetime": "yesterday"},
        {"datetime": "2020-13-45T00:00:00Z"},
        {"limit": "-5"},
    ]
    found = Problems()
    for params in cases:
        status, url = await _items_status(t, params)
        found.check(status == 400, f"GET {url}: expected 400, got {status}")
    found.raise_if_any()
    return f"400 for {len(cases)} malformed values"


@check(
    UNKNOWN,
    "core/query-param-unknown",
    "an undeclared parameter answers 400",
    suite=FEATURES,
    per_collection=True,
)
async def param_unknown(t: Test) -> str:
    name = "unknownQueryParameter4711"
    try:
        doc, params = await api.items_parameters(t, t.collection)
    except CheckSkipped:
        doc, params = {}, {}
    free = oas.free_form_parameters(doc, params)
    if free:
        raise CheckSkipped(f"the API definition declares free-form parameters ({', '.join(free)})")
    status, url = await _items_status(t, {name: "1"})
    expect(status == 400, f"GET {url}: expected 400, got {status}")
    return f"400 for {name}"
