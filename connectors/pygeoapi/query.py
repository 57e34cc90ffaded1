"""A SourceQuery as the keyword arguments of a pygeoapi provider's `query()`, and a
provider's features as records.

Only what the provider's traits (connectors/pygeoapi/providers.py) and the connector's
capabilities allow reaches `query()`; the planner has already kept everything else as a
residual. Values leave here as the gateway expects them from any connector: JSON-native,
dates and instants as ISO text, numbers as int/float; a value of any other type is left
out of its record rather than failing the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from connectors.base import Record, SourceQuery
from connectors.errors import SourceError
from connectors.filters import Unsupported
from connectors.pygeoapi.filterq import FilterBuilder
from connectors.pygeoapi.providers import Traits


@dataclass(frozen=True)
class Plan:
    """How one SourceQuery is asked of the provider (paging added per call)."""

    kwargs: dict[str, Any]
    fields: tuple[str, ...] | None  # the properties each record keeps, in order


def plan(
    q: SourceQuery,
    traits: Traits,
    builder: FilterBuilder | None,
    id_field: str | None,
) -> Plan:
    kwargs: dict[str, Any] = {}
    if q.bbox is not None:
        kwargs.update(_bbox(q.bbox, builder))
    if q.filter is not None:
        if builder is None:
            raise SourceError("a filter reached a pygeoapi provider that takes none")
        try:
            node = builder.build(q.filter)
        except Unsupported as e:  # the planner sends only what pushable() accepted
            raise SourceError(f"a filter the pygeoapi provider cannot take: {e}") from e
        kwargs["filterq"] = node if "filterq" not in kwargs else _and(kwargs["filterq"], node)
    if q.sortby:
        keys = [{"property": name, "order": "+" if asc else "-"} for name, asc in q.sortby]
        if id_field is not None and all(name != id_field for name, _ in q.sortby):
            keys.append({"property": id_field, "order": "+"})
        kwargs["sortby"] = keys
    if q.fields is not None and traits.select_properties and q.fields:
        kwargs["select_properties"] = list(q.fields)
    return Plan(kwargs, q.fields)


def _bbox(bbox: tuple[float, float, float, float], builder: FilterBuilder | None) -> dict:
    west, south, east, north = bbox
    if west <= east:
        return {"bbox": [west, south, east, north]}
    # across the antimeridian: two boxes, as a filter (only SQL providers declare bbox then)
    if builder is None or builder.geometry is None:
        raise SourceError("a box across the antimeridian reached a provider without filterq")
    from pygeofilter import ast

    attr = ast.Attribute(builder.geometry)
    return {
        "filterq": ast.Or(
            ast.BBox(attr, west, south, 180.0, north, None),
            ast.BBox(attr, -180.0, south, east, north, None),
        )
    }


def _and(left: Any, right: Any) -> Any:
    from pygeofilter import ast

    return ast.And(left, right)


def record(
    feature: Any,
    fields: tuple[str, ...] | None,
    id_field: str | None,
    dropped: list[str] | None = None,
) -> Record:
    """A provider's GeoJSON feature as a record: id, plain properties, geometry. The names
    of values left out (of a type the gateway cannot read) are appended to `dropped`."""
    if not isinstance(feature, dict):
        raise SourceError(f"the provider gave a {type(feature).__name__} for a feature")
    props = feature.get("properties")
    props = props if isinstance(props, dict) else {}
    identifier = feature.get("id")
    if identifier is None and id_field is not None:
        identifier = props.get(id_field)
    if id_field is not None and id_field not in props:  # SQL and CSV move it to "id"
        props = {**props, id_field: identifier}
    out = {}
    for name in props if fields is None else fields:
        value = plain(props.get(name))
        if value is not _DROP:
            out[name] = value
        elif dropped is not None:
            dropped.append(name)
    geometry = feature.get("geometry")
    return {
        "id": plain(identifier),
        "properties": out,
        "geometry": geometry if isinstance(geometry, dict) and geometry.get("type") else None,
    }


_DROP: Any = object()


def plain(value: Any) -> Any:
    """A JSON-native value, or _DROP for one of a type the gateway cannot read."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): v for k, v in ((k, plain(v)) for k, v in value.items()) if v is not _DROP}
    if isinstance(value, list | tuple):
        return [v for v in map(plain, value) if v is not _DROP]
    return _DROP


def _decimal(value: Decimal) -> int | float | None:
    if not value.is_finite():
        return None
    if value == value.to_integral_value() and value.as_tuple().exponent >= 0:
        return int(value)
    return float(value)


def matched(doc: dict[str, Any]) -> int | None:
    """numberMatched of a results answer (CSV leaves it out when nothing matched)."""
    found = doc.get("numberMatched")
    if isinstance(found, int) and not isinstance(found, bool) and found >= 0:
        return found
    features = doc.get("features")
    return 0 if found is None and isinstance(features, list) and not features else None


__all__ = ["Plan", "matched", "plain", "plan", "record"]
