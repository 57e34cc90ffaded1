"""Part 3 (Filtering) with CQL2: queryables, the filter parameters, and one check per CQL2
requirements class the server declares. Each filter case is sent in every CQL2 encoding the
server declares and its result compared with the suite's own evaluation over all items.
"""

from __future__ import annotations

import asyncio
from typing import Any

from conformance.context import Problems, Test, expect
from conformance.features import api
from conformance.features import links as L
from conformance.features import names as N
from conformance.features import openapi as oas
from conformance.features.cql2 import Ambiguous, Evaluator, Expr, op, prop, to_json_text, to_text
from conformance.features.cql2_cases import GENERATORS, Data, columns, common_values
from conformance.features.itemvalues import Box, bbox_param, inside, quadrant_box
from conformance.model import Blocked, CheckSkipped, Requirement, RequirementClass
from conformance.registry import FEATURES, check

FILTERING = (N.FILTER.uri, N.FEATURES_FILTER.uri)
TEXT, JSON_ENC = "cql2-text", "cql2-json"


async def encodings(t: Test) -> list[str]:
    declared = await api.declared(t)
    found = [e for e, c in ((TEXT, N.CQL2_TEXT), (JSON_ENC, N.CQL2_JSON)) if c.uri in declared]
    if not found:
        raise CheckSkipped("the server declares neither cql2-text nor cql2-json")
    return found


def queryables_url(t: Test) -> str:
    return api.collection_url(t, t.collection) + "/queryables"


async def queryables_fetch(t: Test):
    accept = f"{N.SCHEMA_JSON}, {N.JSON};q=0.9"
    return await t.get(queryables_url(t), accept=accept, cache=True)


async def queryables(t: Test) -> dict[str, Any] | None:
    """The queryable properties, or None when the server publishes none."""
    if N.QUERYABLES.uri not in await api.declared(t):
        return None
    got = await queryables_fetch(t)
    if got.status != 200:
        return None
    props = got.json_object().get("properties")
    return props if isinstance(props, dict) else None


async def data(t: Test) -> Data:
    everything = await api.all_items(t, t.collection)
    everything.require_complete("filter results need every item")
    if any("id" not in f for f in everything.features):
        raise CheckSkipped("items carry no id, so result sets cannot be compared")
    quad = await quadrant_box(t)
    # a pass over every item: off the event loop, where the other checks' requests wait
    cols = await asyncio.to_thread(columns, everything.features, await queryables(t))
    return Data(everything.features, cols, quad.bbox if quad else None)


async def compare_filter(
    t: Test, d: Data, expr: Expr, found: Problems, encs: list[str], bbox: list[float] | None = None
) -> None:
    """Send `expr` in each encoding (AND-ed with `bbox` if given); record wrong results."""
    evaluate = Evaluator(d.cols.geometry)
    expected, unsure = set(), set()
    for f in d.features:
        try:
            if evaluate(expr, f) is True:
                expected.add(str(f["id"]))
        except Ambiguous:
            unsure.add(str(f["id"]))
    if bbox is not None:
        expected = {i for i in expected if inside(_feature(d, i), Box(bbox))}
    for enc in encs:
        text = to_text(expr) if enc == TEXT else to_json_text(expr)
        params = {"filter": text, "filter-lang": enc}
        if bbox is not None:
            params["bbox"] = bbox_param(bbox)
        first = await t.get(
            api.items_url(t, t.collection), params=params, accept=N.GEOJSON, cache=True
        )
        if not found.check(first.status == 200, f"{enc} `{text}` answered {first.status}"):
            continue
        got = await api.all_items(t, t.collection, params)
        if not got.complete:
            found.add(f"{enc} `{text}`: {got.note}")
            continue
        ids = {str(f.get("id")) for f in got.features}
        missing, extra_ids = expected - ids, ids - expected - unsure
        if missing or extra_ids:
            found.add(
                f"{enc} `{text}`: {len(ids)} items, expected {len(expected)} "
                f"(missing {sorted(missing)[:3]}, unexpected {sorted(extra_ids)[:3]})"
            )


def _feature(d: Data, fid: str) -> dict[str, Any]:
    return next(f for f in d.features if str(f["id"]) == fid)


def _filter_check(kind: str, requirement: Requirement, cls: RequirementClass, title: str) -> None:
    @check(
        requirement,
        f"cql2/{kind}",
        title,
        suite=FEATURES,
        needs=(cls.uri,),
        needs_any=FILTERING,
        per_collection=True,
    )
    async def run(t: Test) -> str:
        encs = await encodings(t)
        d = await data(t)
        cases = GENERATORS[kind](d)
        if not cases:
            raise CheckSkipped(f"the data offers no property suited to {kind} cases")
        found = Problems(limit=6)
        for expr in cases:
            await compare_filter(t, d, expr, found, encs)
        found.raise_if_any()
        return f"{len(cases)} case(s) x {len(encs)} encoding(s) return exactly the matching items"


for _kind, _cls, _path, _title in [
    ("comparison", N.BASIC_CQL2, "basic-cql2/binary-comparison-predicate", "=, <>, <, <=, >, >="),
    ("logical", N.BASIC_CQL2, "basic-cql2/cql2-filter", "AND, OR, NOT"),
    ("null", N.BASIC_CQL2, "basic-cql2/null-predicate", "IS NULL"),
    ("like", N.ADVANCED_COMPARISON, "advanced-comparison-operators/like-predicate", "LIKE"),
    (
        "between",
        N.ADVANCED_COMPARISON,
        "advanced-comparison-operators/between-predicate",
        "BETWEEN",
    ),
    ("in", N.ADVANCED_COMPARISON, "advanced-comparison-operators/in-predicate", "IN"),
    ("casei", N.CASE_INSENSITIVE, "case-insensitive-comparison/casei-function", "CASEI"),
    ("accenti", N.ACCENT_INSENSITIVE, "accent-insensitive-comparison/accenti-function", "ACCENTI"),
    (
        "basic-spatial",
        N.BASIC_SPATIAL,
        "basic-spatial-functions/spatial-functions",
        "S_INTERSECTS with BBOX",
    ),
    (
        "spatial-plus",
        N.BASIC_SPATIAL_PLUS,
        "basic-spatial-functions-plus/spatial-data-types",
        "S_INTERSECTS with POLYGON and POINT",
    ),
    (
        "spatial",
        N.SPATIAL_FUNCTIONS,
        "spatial-functions/spatial-functions",
        "S_WITHIN, S_DISJOINT, S_EQUALS",
    ),
    (
        "temporal",
        N.TEMPORAL_FUNCTIONS,
        "temporal-functions/temporal-functions",
        "T_BEFORE, T_AFTER, T_EQUALS, T_INTERSECTS, T_DISJOINT",
    ),
    (
        "property-property",
        N.PROPERTY_PROPERTY,
        "property-property/withdraw-permissions",
        "comparing two properties",
    ),
    ("arithmetic", N.ARITHMETIC, "arithmetic/arithmetic", "+ and * in comparisons"),
]:
    _filter_check(
        _kind,
        N.cql2(_cls, _path, f"CQL2 {_title} SHALL be evaluated as specified"),
        _cls,
        f"{_title} select exactly the matching items",
    )


QUERYABLES_LINK = N.part3(
    N.QUERYABLES,
    "queryables/queryables-link",
    "A filterable collection SHALL link to its queryables",
)
QUERYABLES_OP = N.part3(
    N.QUERYABLES,
    "queryables/get-queryables-op",
    "Queryables SHALL answer GET in application/schema+json",
)
QUERYABLES_RESPONSE = N.part3(
    N.QUERYABLES,
    "queryables/get-queryables-response",
    "Queryables SHALL be a JSON Schema of the queryable properties",
)
FILTER_PARAM = N.part3(
    N.FEATURES_FILTER,
    "features-filter/filter-param",
    "Items SHALL support `filter` and `filter-lang`",
)
FILTER_RESPONSE = N.part3(
    N.FEATURES_FILTER,
    "features-filter/response",
    "Filters SHALL select per item, AND-ed with other parameters; invalid ones SHALL get 400",
)
MIXING = N.part3(
    N.FILTER, "filter/mixing-expressions", "bbox and other predicates SHALL be AND-ed with `filter`"
)
QUERYABLE_PARAMETERS = N.part3(
    N.QUERYABLE_PARAMS,
    "queryables-query-parameters/parameters",
    "Simple queryables SHALL be usable as query parameters",
)


@check(
    QUERYABLES_LINK,
    "queryables/queryables-link",
    "the collection links to its queryables",
    suite=FEATURES,
    needs=(N.QUERYABLES.uri,),
    per_collection=True,
)
async def queryables_link(t: Test) -> str:
    doc = await api.collection(t, t.collection)
    expect(
        L.find(L.links_of(doc), N.REL_QUERYABLES),
        f"/collections/{t.collection} has no queryables link",
    )
    return "queryables link present"


@check(
    QUERYABLES_OP,
    "queryables/get-queryables-op",
    "GET .../queryables answers 200 as JSON Schema",
    suite=FEATURES,
    needs=(N.QUERYABLES.uri,),
    per_collection=True,
)
async def queryables_op(t: Test) -> str:
    got = await queryables_fetch(t)
    expect(got.status == 200, f"{got.url}: status {got.status}")
    expect(got.media_type == N.SCHEMA_JSON, f"{got.url}: Content-Type {got.media_type!r}")
    return "200, application/schema+json"


@check(
    QUERYABLES_RESPONSE,
    "queryables/get-queryables-response",
    "the queryables schema has $schema, $id, typed properties",
    suite=FEATURES,
    needs=(N.QUERYABLES.uri,),
    per_collection=True,
)
async def queryables_response(t: Test) -> str:
    got = await queryables_fetch(t)
    if got.status != 200:
        raise Blocked("not tested: queryables unavailable (see get-queryables-op)")
    doc = got.json_object()
    found = Problems()
    found.check(
        doc.get("$schema") == "https://json-schema.org/draft/2020-12/schema",
        f"$schema is {doc.get('$schema')!r}",
    )
    found.check(
        doc.get("$id") == queryables_url(t), f"$id is {doc.get('$id')!r}, not {queryables_url(t)}"
    )
    found.check(doc.get("type") == "object", f"type is {doc.get('type')!r}")
    props = doc.get("properties")
    found.check(isinstance(props, dict) and props, "no properties")
    for name, schema in (props or {}).items():
        if not isinstance(schema, dict):
            found.add(f"{name}: not a schema")
        elif str(schema.get("format", "")).startswith("geometry-"):
            found.check(
                "type" not in schema and "$ref" not in schema, f"{name}: spatial with type/$ref"
            )
        else:
            found.check("type" in schema, f"{name}: no type")
    found.raise_if_any()
    return f"{len(props or {})} queryables"


@check(
    FILTER_PARAM,
    "features-filter/filter-param",
    "filter and filter-lang declared, encodings listed",
    suite=FEATURES,
    needs_any=FILTERING,
    per_collection=True,
)
async def filter_params(t: Test) -> str:
    doc, params = await api.items_parameters(t, t.collection)
    found = Problems()
    found.check("filter" in params, "no filter parameter")
    lang = oas.parameter_schema(doc, params.get("filter-lang", {}))
    found.check("filter-lang" in params, "no filter-lang parameter")
    for enc in await encodings(t):
        found.check(enc in (lang.get("enum") or []), f"filter-lang enum lacks {enc}")
    found.raise_if_any()
    return "filter and filter-lang declared"


@check(
    FILTER_RESPONSE,
    "features-filter/response-invalid",
    "malformed filters and unknown filter-lang answer 400",
    suite=FEATURES,
    needs_any=FILTERING,
    per_collection=True,
)
async def filter_invalid(t: Test) -> str:
    encs = await encodings(t)
    cases = [{"filter": "this is (( not CQL2", "filter-lang": TEXT if TEXT in encs else JSON_ENC}]
    cases.append({"filter": "1 = 1", "filter-lang": "no-such-language"})
    found = Problems()
    for params in cases:
        got = await t.get(api.items_url(t, t.collection), params=params, accept=N.GEOJSON)
        found.check(got.status == 400, f"{got.url}: expected 400, got {got.status}")
    found.raise_if_any()
    return "400 for invalid filters"


@check(
    MIXING,
    "filter/mixing-expressions",
    "filter and bbox are AND-ed",
    suite=FEATURES,
    needs_any=FILTERING,
    per_collection=True,
)
async def filter_and_bbox(t: Test) -> str:
    encs, d = await encodings(t), await data(t)
    if not d.cols.strings or d.quadrant is None:
        raise CheckSkipped("no string property or no test box")
    s = d.cols.strings[0]
    expr = op("=", prop(s), common_values(d.features, s)[0])
    found = Problems()
    await compare_filter(t, d, expr, found, encs, bbox=d.quadrant)
    found.raise_if_any()
    return "filter AND bbox"


@check(
    QUERYABLE_PARAMETERS,
    "queryables-query-parameters/parameters",
    "?queryable=value selects exactly the matching items",
    suite=FEATURES,
    needs=(N.QUERYABLE_PARAMS.uri,),
    per_collection=True,
)
async def queryable_parameters(t: Test) -> str:
    d = await data(t)
    names = d.cols.strings[:1] + d.cols.numbers[:1]
    if not names:
        raise CheckSkipped("no simple queryable")
    found = Problems()
    for name in names:
        value = common_values(d.features, name)[0]
        text = value if isinstance(value, str) else repr(value)
        got = await api.all_items(t, t.collection, {name: text})
        want = {str(f["id"]) for f in d.features if (f.get("properties") or {}).get(name) == value}
        ids = {str(f.get("id")) for f in got.features}
        found.check(ids == want, f"{name}={text}: {len(ids)} items, expected {len(want)}")
    found.raise_if_any()
    return f"{len(names)} queryable parameter(s) select exactly"
