"""`datetime` beyond OGC's ETS (whose result test is a TODO): which property is the temporal
geometry, and whether the features returned are exactly the ones that intersect.

Part 1 leaves open which property a server uses. The suite takes the queryable with
`x-ogc-role: primary-instant` when the server publishes queryables, else the one property
whose values are all dates or date-times. Query bounds fall on UTC midnights, so a server
reading dates as whole days and one reading them as instants agree; the only remaining
difference (a day ending exactly where the interval starts) is ignored.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from conformance.context import Problems, Test
from conformance.features import api
from conformance.features.names import F3, JSON, SCHEMA_JSON, core
from conformance.model import CheckSkipped
from conformance.registry import FEATURES, check
from conformance.timeutil import iso, parse_rfc3339, relation, value_span

FC_TIME_RESPONSE = core(
    "fc-time-response",
    "With `datetime`, only features whose temporal geometry intersects it SHALL be returned",
)


async def cite_datetimes(t: Test) -> list[tuple[str, bool]]:
    """The ETS's three values from the temporal extent: an instant, an interval and a
    date with a period. The last is not RFC 3339, so a 400 for it is accepted too."""
    from conformance.features.params import temporal_extent

    extent = await temporal_extent(t)
    if extent is None:
        return []
    begin, end = parse_rfc3339(extent[0]), parse_rfc3339(extent[1])
    if begin is None:
        return []
    values = [(iso(begin), True)]
    if end is not None and end > begin:
        span = end - begin
        values.append((f"{iso(begin + span / 4)}/{iso(begin + span / 2)}", True))
    values.append((f"{begin.date().isoformat()}/P2D", False))
    return values


async def _queryable_instant(t: Test) -> str | None:
    if f"{F3}/conf/queryables" not in await api.declared(t):
        return None
    url = api.collection_url(t, t.collection) + "/queryables"
    got = await t.get(url, accept=f"{SCHEMA_JSON}, {JSON};q=0.9", cache=True)
    if got.status != 200:
        return None
    props = got.json_object().get("properties") or {}
    for name, schema in props.items():
        if isinstance(schema, dict) and schema.get("x-ogc-role") == "primary-instant":
            return name
    return None


def _temporal_candidates(features: list[dict[str, Any]]) -> list[str]:
    counts: Counter[str] = Counter()
    bad: set[str] = set()
    for f in features:
        for name, value in (f.get("properties") or {}).items():
            if value is None:
                continue
            if value_span(value) is None:
                bad.add(name)
            else:
                counts[name] += 1
    return [n for n in counts if n not in bad]


async def temporal_property(t: Test, features: list[dict[str, Any]]) -> str:
    name = await _queryable_instant(t)
    if name:
        return name
    candidates = _temporal_candidates(features)
    if len(candidates) != 1:
        found = ", ".join(candidates) or "none"
        raise CheckSkipped(f"cannot tell which property is the temporal one (candidates: {found})")
    return candidates[0]


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def query_values(starts: list[datetime]) -> list[tuple[str, datetime | None, datetime | None]]:
    """Instant, bounded and half-bounded intervals at midnights spread over the data."""
    starts = sorted(starts)
    q1, mid, q3 = (_midnight(starts[len(starts) * k // 4]) for k in (1, 2, 3))
    if q3 <= q1:
        q3 = q1 + timedelta(days=1)
    return [
        (iso(mid), mid, mid),
        (f"{iso(q1)}/{iso(q3)}", q1, q3),
        (f"../{iso(q1)}", None, q1),
        (f"{iso(q3)}/..", q3, None),
        (f"{iso(q3)}/", q3, None),
    ]


@check(
    FC_TIME_RESPONSE,
    "core/fc-time-response-results",
    "datetime returns exactly the features whose time intersects (instant, intervals, open ends)",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def time_results(t: Test) -> str:
    everything = await api.all_items(t, t.collection)
    everything.require_complete("datetime results need every item")
    features = everything.features
    if any("id" not in f for f in features):
        raise CheckSkipped("items carry no id, so result sets cannot be compared")
    prop = await temporal_property(t, features)
    spans = [value_span((f.get("properties") or {}).get(prop)) for f in features]
    starts = [s[0] for s in spans if s]
    if not starts:
        raise CheckSkipped(f"no values of '{prop}'")
    found = Problems()
    for value, start, end in query_values(starts):
        got = await api.all_items(t, t.collection, {"datetime": value})
        got.require_complete(f"datetime={value}")
        ids = {str(f.get("id")) for f in got.features}
        for f in features:
            where = relation((f.get("properties") or {}).get(prop), start, end)
            fid = str(f.get("id"))
            # A feature without a value ("none") has no temporal geometry to intersect;
            # Part 1 asks for the intersecting ones, so neither answer is flagged for it.
            if where == "in" and fid not in ids:
                found.add(f"datetime={value}: {fid} ({prop}={f['properties'].get(prop)}) missing")
            elif where == "out" and fid in ids:
                found.add(f"datetime={value}: {fid} ({prop}={f['properties'].get(prop)}) returned")
    found.raise_if_any(f"temporal property '{prop}'")
    return f"5 datetime values on '{prop}' select exactly the intersecting features"
