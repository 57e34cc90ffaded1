"""The values OGC's ETS sends with its items requests, read from the API definition and
the collection's extents: the `limit` values, the bounding boxes and the `datetime` values.
The response checks (items), the parameter checks (params) and bbox-crs use them."""

from __future__ import annotations

from conformance.context import Test
from conformance.features import api
from conformance.features import openapi as oas
from conformance.model import Blocked
from conformance.timeutil import iso, parse_rfc3339

CITE_BOXES = [
    [-1.5, 50.0, 1.5, 53.0],  # the prime meridian
    [-80.0, -5.0, -70.0, 5.0],  # the equator
    [177.0, 65.0, -177.0, 70.0],  # the antimeridian
    [-180.0, 85.0, 180.0, 90.0],  # the north pole
    [-180.0, -90.0, 180.0, -85.0],  # the south pole
]


async def limit_values(t: Test) -> tuple[list[int], int | None]:
    """The limits OGC's ETS requests: minimum, maximum and the middle (at most 100)."""
    try:
        doc, params = await api.items_parameters(t, t.collection)
    except Blocked:
        return [], None
    schema = oas.parameter_schema(doc, params.get("limit", {}))
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    if not isinstance(minimum, int | float):
        return [], None
    low = max(int(minimum), 1)
    high = int(maximum) if isinstance(maximum, int | float) else None
    values = [low, min(low + ((high or 200) - low) // 2, 100)]
    if high is not None:
        values.append(high)
    return sorted(set(values)), high


async def extent_bbox(t: Test) -> list[float] | None:
    entry = await api.collection_entry(t, t.collection)
    try:
        box = entry["extent"]["spatial"]["bbox"][0]
    except (KeyError, IndexError, TypeError):
        return None
    ok = isinstance(box, list) and len(box) in (4, 6)
    return [float(v) for v in box] if ok and all(isinstance(v, int | float) for v in box) else None


async def cite_bboxes(t: Test) -> list[list[float]]:
    extent = await extent_bbox(t)
    return ([extent] if extent else []) + CITE_BOXES


async def temporal_extent(t: Test) -> tuple[str | None, str | None] | None:
    entry = await api.collection_entry(t, t.collection)
    try:
        interval = entry["extent"]["temporal"]["interval"][0]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(interval, list) or len(interval) != 2:
        return None
    return interval[0], interval[1]


async def cite_datetimes(t: Test) -> list[tuple[str, bool]]:
    """The ETS's three values from the temporal extent: an instant, an interval and a
    date with a period. The last is not RFC 3339, so a 400 for it is accepted too."""
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
