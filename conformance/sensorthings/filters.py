"""SensorThings $filter (ETS sta10 level 3) on the data present: comparison and logical
operators, built-in functions and the order in which query options apply, each compared
with the suite's own evaluation over the complete entity sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.context import Problems, Test
from conformance.model import CheckSkipped
from conformance.registry import SENSORTHINGS, check
from conformance.sensorthings import api
from conformance.sensorthings.filtering import needs
from conformance.sensorthings.names import REQUEST, req

FILTER = req(REQUEST, "request-data/filter", "$filter SHALL return exactly the matching entities")
OPERATIONS = req(
    REQUEST, "request-data/built-in-filter-operations", "eq, ne, gt, ge, lt, le, and, or, not"
)
FUNCTIONS = req(REQUEST, "request-data/built-in-query-functions", "startswith, tolower, length …")
ORDER = req(
    REQUEST,
    "request-data/order",
    "Query options SHALL apply in the order $filter, $count, $orderby, $skip, $top",
)


def _numeric_results(entities: list[dict[str, Any]]) -> list[float]:
    values = [e.get("result") for e in entities]
    return sorted(v for v in values if isinstance(v, int | float) and not isinstance(v, bool))


async def _compare(
    t: Test, url: str, expression: str, predicate: Callable[[dict], bool], found: Problems
) -> None:
    cap = t.ctx.options.max_items
    everything = api.complete(await api.listing(t, url), url, cap)
    expected = {repr(e.get("@iot.id")) for e in everything if predicate(e)}
    got = api.complete(await api.listing(t, url, {"$filter": expression}), url, cap)
    returned = {repr(e.get("@iot.id")) for e in got}
    name = url.rsplit("/", 1)[-1]
    found.check(
        returned == expected,
        f"{name}?$filter={expression}: {len(returned)} entities, expected {len(expected)} "
        f"(missing {sorted(expected - returned)[:3]}, "
        f"unexpected {sorted(returned - expected)[:3]})",
    )


async def _observation_cases(t: Test, url: str) -> list[tuple[str, Callable[[dict], bool]]]:
    everything = api.complete(await api.listing(t, url), url, t.ctx.options.max_items)
    values = _numeric_results(everything)
    if not values:
        return []
    m = values[len(values) // 2]

    def r(e: dict) -> Any:
        v = e.get("result")
        return v if isinstance(v, int | float) else None

    return [
        (f"result eq {m}", lambda e: r(e) == m),
        (f"result ne {m}", lambda e: r(e) is not None and r(e) != m),
        (f"result gt {m}", lambda e: r(e) is not None and r(e) > m),
        (f"result ge {m}", lambda e: r(e) is not None and r(e) >= m),
        (f"result lt {m}", lambda e: r(e) is not None and r(e) < m),
        (f"result le {m}", lambda e: r(e) is not None and r(e) <= m),
        (
            f"result gt {values[0]} and result lt {m}",
            lambda e: r(e) is not None and values[0] < r(e) < m,
        ),
        (
            f"result lt {values[0]} or result ge {m}",
            lambda e: r(e) is not None and (r(e) < values[0] or r(e) >= m),
        ),
        (f"not (result gt {m})", lambda e: r(e) is not None and not r(e) > m),
    ]


@check(
    OPERATIONS,
    "sta/filter-operations",
    "$filter with comparison and logical operators",
    suite=SENSORTHINGS,
    needs=needs("built-in-filter-operations"),
)
async def filter_operations(t: Test) -> str:
    url = await api.observations_scope(t)
    cases = await _observation_cases(t, url)
    if not cases:
        raise CheckSkipped("no Observations with numeric results")
    found = Problems()
    for expression, predicate in cases:
        await _compare(t, url, expression, predicate, found)
    found.raise_if_any()
    return f"{len(cases)} filters on Observations/result select exactly"


@check(
    FILTER,
    "sta/filter",
    "$filter on a text property selects exactly the matching entities",
    suite=SENSORTHINGS,
    needs=needs("filter"),
)
async def filter_text(t: Test) -> str:
    cap = t.ctx.options.max_items
    things = api.complete(await api.all_entities(t, "Things"), "Things", cap)
    names = [e.get("name") for e in things if isinstance(e.get("name"), str)]
    if not names:
        raise CheckSkipped("no Things with a name")
    name = names[0]
    found = Problems()
    things_url = api.set_url(t, "Things")
    await _compare(
        t, things_url, f"name eq {api.literal(name)}", lambda e: e.get("name") == name, found
    )
    await _compare(
        t,
        things_url,
        f"name ne {api.literal(name)}",
        lambda e: e.get("name") is not None and e.get("name") != name,
        found,
    )
    found.raise_if_any()
    return f"Things filtered by name {name!r}"


@check(
    FUNCTIONS,
    "sta/functions",
    "startswith, tolower and length in $filter",
    suite=SENSORTHINGS,
    needs=needs("built-in-query-functions"),
)
async def functions(t: Test) -> str:
    cap = t.ctx.options.max_items
    things = api.complete(await api.all_entities(t, "Things"), "Things", cap)
    names = [
        e.get("name") for e in things if isinstance(e.get("name"), str) and len(e.get("name")) >= 3
    ]
    if not names:
        raise CheckSkipped("no Things with a name of 3 characters or more")
    name = names[0]
    found = Problems()

    def n(e: dict) -> Any:
        return e.get("name") if isinstance(e.get("name"), str) else None

    things_url = api.set_url(t, "Things")

    await _compare(
        t,
        things_url,
        f"startswith(name,{api.literal(name[:2])})",
        lambda e: n(e) is not None and n(e).startswith(name[:2]),
        found,
    )
    await _compare(
        t,
        things_url,
        f"tolower(name) eq {api.literal(name.lower())}",
        lambda e: n(e) is not None and n(e).lower() == name.lower(),
        found,
    )
    await _compare(
        t,
        things_url,
        f"length(name) gt {len(name) - 1}",
        lambda e: n(e) is not None and len(n(e)) > len(name) - 1,
        found,
    )
    found.raise_if_any()
    return "3 functions select exactly"


@check(
    ORDER,
    "sta/query-order",
    "$filter, $count, $orderby, $skip and $top combine in order",
    suite=SENSORTHINGS,
    needs=needs("order"),
)
async def query_order(t: Test) -> str:
    url = await api.observations_scope(t)
    everything = api.complete(await api.listing(t, url), url, t.ctx.options.max_items)
    values = _numeric_results(everything)
    if len(values) < 3:
        raise CheckSkipped("too few Observations with numeric results")
    m = values[len(values) // 3]
    matching = [
        e for e in everything if isinstance(e.get("result"), int | float) and e["result"] >= m
    ]
    ordered = sorted(matching, key=lambda e: (str(e.get("phenomenonTime")), repr(e.get("@iot.id"))))
    params = {
        "$count": "true",
        "$top": "1",
        "$skip": "1",
        "$orderby": "phenomenonTime asc",
        "$filter": f"result ge {m}",
    }
    doc = (await t.get(url, params=params, accept=api.JSON)).json_object()
    found = Problems()
    found.check(
        doc.get("@iot.count") == len(matching),
        f"@iot.count {doc.get('@iot.count')!r}, {len(matching)} match the filter",
    )
    got = doc.get("value", [])
    found.check(len(got) == 1, f"{len(got)} entities, expected 1")
    if got and len(ordered) > 1:
        found.check(
            got[0].get("phenomenonTime") == ordered[1].get("phenomenonTime"),
            f"got {got[0].get('phenomenonTime')}, expected the second by phenomenonTime "
            f"({ordered[1].get('phenomenonTime')})",
        )
    found.raise_if_any()
    return "options applied in the specified order"
