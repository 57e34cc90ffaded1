"""SensorThings request data (the filtering extension; ETS sta10 level 3) on the data the
service holds, without writing: $top, $skip, $count, paging, $orderby, $select, $expand,
$filter and the built-in functions, each compared with the suite's reading of the entity
sets it listed completely. $filter itself is in `filters`."""

from __future__ import annotations

import math
from typing import Any

from conformance.context import Problems, Test, expect
from conformance.model import Blocked, CheckSkipped
from conformance.registry import SENSORTHINGS, check
from conformance.sensorthings import api
from conformance.sensorthings.names import BY_SET, REQUEST, STA, req

TOP = req(REQUEST, "request-data/top", "$top SHALL limit the entities returned")
SKIP = req(REQUEST, "request-data/skip", "$skip SHALL skip that many entities")
COUNT = req(REQUEST, "request-data/count", "$count=true SHALL add @iot.count, false omit it")
PAGINATION = req(
    REQUEST,
    "request-data/pagination",
    "A partial result SHALL carry @iot.nextLink to the rest; the last page none",
)
ORDERBY = req(REQUEST, "request-data/orderby", "$orderby SHALL sort the entities")
SELECT = req(REQUEST, "request-data/select", "$select SHALL return only the selected properties")
EXPAND = req(REQUEST, "request-data/expand", "$expand SHALL include the related entities")


def needs(path: str) -> tuple[str, ...]:
    return (f"{STA}/req/request-data/{path}",)


async def listing(t: Test, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    got = await api.all_entities(t, t.collection, params)
    if not got.complete:
        raise Blocked(
            f"not tested: {t.collection} holds more than {t.ctx.options.max_items} entities "
            "(--max-items)"
        )
    return got.entities


def ids(entities: list[dict[str, Any]]) -> list[Any]:
    return [e.get("@iot.id") for e in entities]


@check(
    TOP,
    "sta/top",
    "$top=1 returns one entity, $top=n all n",
    suite=SENSORTHINGS,
    needs=needs("top"),
    per_collection=True,
)
async def top(t: Test) -> str:
    total = len(await listing(t))
    if total == 0:
        raise CheckSkipped(f"{t.collection} is empty")
    found = Problems()
    one = await t.get(api.set_url(t, t.collection), params={"$top": "1"}, accept=api.JSON)
    doc = one.json_object()
    found.check(len(doc.get("value", [])) == 1, f"$top=1 returned {len(doc.get('value', []))}")
    everything = await t.get(
        api.set_url(t, t.collection), params={"$top": str(total)}, accept=api.JSON
    )
    rest = everything.json_object()
    found.check(
        len(rest.get("value", [])) == total, f"$top={total} returned {len(rest.get('value', []))}"
    )

    found.raise_if_any()
    return f"$top works on {total} entities"


@check(
    SKIP,
    "sta/skip",
    "$skip=1 drops the first entity",
    suite=SENSORTHINGS,
    needs=needs("skip"),
    per_collection=True,
)
async def skip(t: Test) -> str:
    total = len(await listing(t))
    if total < 2:
        raise CheckSkipped(f"{t.collection} holds fewer than 2 entities")
    n = min(total, 5)
    url = api.set_url(t, t.collection)
    plain = api.value_of(await t.get(url, params={"$top": str(n)}, accept=api.JSON))
    skipped = api.value_of(
        await t.get(url, params={"$top": str(n - 1), "$skip": "1"}, accept=api.JSON)
    )
    expect(ids(skipped) == ids(plain)[1:], f"$skip=1: {ids(skipped)}, expected {ids(plain)[1:]}")
    return "$skip=1 drops the first entity"


@check(
    COUNT,
    "sta/count",
    "@iot.count equals the entities; $count=false omits it",
    suite=SENSORTHINGS,
    needs=needs("count"),
    per_collection=True,
)
async def count(t: Test) -> str:
    total = len(await listing(t))
    url = api.set_url(t, t.collection)
    yes = (await t.get(url, params={"$count": "true"}, accept=api.JSON)).json_object()
    no = (await t.get(url, params={"$count": "false"}, accept=api.JSON)).json_object()
    expect(
        yes.get("@iot.count") == total,
        f"$count=true: @iot.count {yes.get('@iot.count')!r}, {total} entities",
    )
    expect("@iot.count" not in no, "$count=false: @iot.count present")
    return f"@iot.count {total}"


@check(
    PAGINATION,
    "sta/pagination",
    "nextLinks reach every entity once and the last page has none",
    suite=SENSORTHINGS,
    needs=needs("pagination"),
    per_collection=True,
)
async def pagination(t: Test) -> str:
    url = api.set_url(t, t.collection)
    everything = await api.all_entities(t, t.collection)
    if not everything.complete:  # a big set: walk as far as allowed; every nextLink must work
        cap = t.ctx.options.max_items
        walk = await api.read_all(t.http, url, None, cap)
        ordered = {"$orderby": f"{_sort_key(t.collection)} asc"}
        await api.read_all(t.http, url, ordered, cap)
        return f"{len(walk.entities)} entities over {len(walk.pages)} pages, every nextLink works"
    total = len(everything.entities)
    if total < 2:
        raise CheckSkipped(f"{t.collection} holds fewer than 2 entities")
    size = max(1, math.ceil(total / 3))
    walk = await api.read_all(t.http, url, {"$top": str(size)}, 10_000)
    found = Problems()
    one = await t.get(url, params={"$top": "1"}, accept=api.JSON)
    found.check(
        isinstance(one.json_object().get("@iot.nextLink"), str),
        f"$top=1 of {total}: no @iot.nextLink",
    )
    last = await t.get(url, params={"$top": str(total)}, accept=api.JSON)
    found.check(
        "@iot.nextLink" not in last.json_object(),
        f"$top={total} (everything): @iot.nextLink "
        f"{last.json_object().get('@iot.nextLink')!r} must be left out, not null",
    )
    seen = ids(walk.entities)
    distinct = len(set(map(repr, seen)))
    found.check(
        len(seen) == distinct == total,
        f"{len(seen)} entities over {len(walk.pages)} pages, {distinct} distinct, {total} expected",
    )
    for page in walk.pages:
        nxt = page.json_object().get("@iot.nextLink", "absent")
        if nxt != "absent":
            found.check(
                isinstance(nxt, str) and nxt.startswith("http"),
                f"{page.url}: @iot.nextLink {nxt!r}",
            )
    found.raise_if_any()
    return f"{total} entities over {len(walk.pages)} pages"


def _sort_key(et_set: str) -> str | None:
    return {"Observations": "phenomenonTime", "HistoricalLocations": "time"}.get(et_set, "name")


def _ordered(values: list[Any], descending: bool) -> bool:
    pairs = [
        (a, b) for a, b in zip(values, values[1:], strict=False) if a is not None and b is not None
    ]
    try:
        return all((a >= b) if descending else (a <= b) for a, b in pairs)
    except TypeError:
        return True  # mixed types: nothing to say


@check(
    ORDERBY,
    "sta/orderby",
    "$orderby asc and desc sort the entities",
    suite=SENSORTHINGS,
    needs=needs("orderby"),
    per_collection=True,
)
async def orderby(t: Test) -> str:
    key = _sort_key(t.collection)
    found = Problems()
    url = api.set_url(t, t.collection)
    for direction in ("asc", "desc"):
        params = {"$orderby": f"{key} {direction}", "$top": "1000"}
        got = await t.get(url, params=params, accept=api.JSON)
        if not found.check(got.status == 200, f"$orderby={key} {direction}: {got.status}"):
            continue
        values = [e.get(key) for e in api.value_of(got)]
        found.check(
            _ordered(values, direction == "desc"), f"$orderby={key} {direction}: {values[:6]}…"
        )
    found.raise_if_any()
    return f"sorted by {key} both ways"


@check(
    SELECT,
    "sta/select",
    "$select returns the selected property only",
    suite=SENSORTHINGS,
    needs=needs("select"),
    per_collection=True,
)
async def select(t: Test) -> str:
    et = BY_SET[t.collection]
    chosen = et.properties[0]
    got = await t.get(api.set_url(t, t.collection), params={"$select": chosen}, accept=api.JSON)
    found = Problems()
    for e in api.value_of(got)[:5]:
        found.check(chosen in e, f"$select={chosen}: {chosen} missing")
        extra = [k for k in e if k in et.properties[1:] or k.endswith("@iot.navigationLink")]
        found.check(not extra, f"$select={chosen}: also {extra}")
    found.raise_if_any()
    return f"$select={chosen} honoured"


@check(
    EXPAND,
    "sta/expand",
    "$expand includes the related entities (one level and two)",
    suite=SENSORTHINGS,
    needs=needs("expand"),
    per_collection=True,
)
async def expand(t: Test) -> str:
    et = BY_SET[t.collection]
    relation = et.relations[0]
    got = await t.get(api.set_url(t, t.collection), params={"$expand": relation}, accept=api.JSON)
    found = Problems()
    for e in api.value_of(got)[:3]:
        value = e.get(relation)
        shape = list if et.plural(relation) else dict
        found.check(
            isinstance(value, shape), f"$expand={relation}: {relation} is {type(value).__name__}"
        )
    found.raise_if_any()
    return f"$expand={relation} honoured"
