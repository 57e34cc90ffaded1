"""The items page's filter form: a plain GET form, so it works without script. Its fields
start from the page's own `self` link, so the filters in the URL stay what the form shows;
parameters it has no field for (filter, sortby, crs, properties …) ride along hidden.
A new search starts at the first page: offset and cursor are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from connectors.base import CRS84

SHOWN = ("bbox", "datetime", "limit")
DROPPED = ("offset", "cursor")


def _hint(schema: Mapping[str, Any]) -> str:
    """What a value of this queryable looks like, for the field's description."""
    kind = schema.get("format") or schema.get("type") or "text"
    if isinstance(kind, list):  # ["integer", "null"]: a null is no value to type in
        kind = " or ".join(str(k) for k in kind if k != "null") or "null"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        listed = ", ".join(str(v) for v in enum[:8])
        return f"{kind}, one of {listed}{' …' if len(enum) > 8 else ''}"
    return str(kind)


def items_form(
    self_href: str, queryables: Mapping[str, Any], html_limit: int | None
) -> dict[str, Any]:
    """Fields, values and hidden parameters of the filter form of the page at ``self_href``."""
    parts = urlsplit(self_href)
    action = urlunsplit(parts._replace(query="", fragment=""))
    values = dict(parse_qsl(parts.query, keep_blank_values=True))
    fields = []
    for name, schema in queryables.items():
        if not isinstance(schema, Mapping) or schema.get("x-ogc-role") == "primary-geometry":
            continue
        label = str(schema.get("title") or name)
        fields.append(
            {"name": name, "label": label, "hint": _hint(schema), "value": values.get(name, "")}
        )
    named = {*SHOWN, *DROPPED, *(f["name"] for f in fields)}
    hidden = [(k, v) for k, v in values.items() if k not in named]
    if "f" not in values:
        hidden.append(("f", "html"))
    return {
        "action": action,
        "values": {name: values.get(name, "") for name in SHOWN},
        "queryables": fields,
        "hidden": hidden,
        "map_bbox": values.get("bbox-crs", CRS84) == CRS84,  # the map view is in CRS84
        "max_limit": html_limit,
        "filtered": any(values.get(k) for k in named if k not in DROPPED),
        "by_property": any(f["value"] for f in fields),
    }
