"""`datetime` beyond OGC's ETS (whose result test is a TODO): which property is the temporal
geometry, and whether the features returned are exactly the ones that intersect.

Part 1 leaves open which property a server uses. The suite takes the queryable with
`x-ogc-role: primary-instant` when the server publishes queryables, else the one property
whose values are all dates or date-times. Query bounds fall on UTC midnights, so a server
reading dates as whole days and one reading them as instants agree; the only remaining
difference (a day ending exactly where the interval starts) is ignored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from conformance.context import Problems, Test
from conformance.features import api
from conformance.features.itemvalues import temporal_property
from conformance.features.names import core
from conformance.model import CheckSkipped
from conformance.registry import FEATURES, check
from conformance.timeutil import iso, relation, value_span

FC_TIME_RESPONSE = core(
    "fc-time-response",
    "With `datetime`, only features whose temporal geometry intersects it SHALL be returned",
)


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
