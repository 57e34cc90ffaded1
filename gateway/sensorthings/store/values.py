"""Request bodies to column values: type checks per property kind, mandatory properties,
and the three result columns."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.model import EntityType, Prop
from gateway.sensorthings.timefmt import parse_instant, parse_time

CONTROL = ("@iot.id", "@iot.selfLink", "id")


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def result_columns(value: Any) -> tuple[str | None, float | None, str | None]:
    """(result_json, result_number, result_string) of one result value."""
    if value is None:
        return None, None, None
    if isinstance(value, bool):
        text = "true" if value else "false"
        return text, None, text
    if isinstance(value, int | float):
        text = dumps(value)
        return text, float(value), text
    if isinstance(value, str):
        return dumps(value), None, value
    return dumps(value), None, None


def column_values(prop: Prop, value: Any, owner: str) -> list[Any]:
    name = f"{owner}/{prop.name}"
    if prop.kind == "result":
        return list(result_columns(value))
    if value is None:
        return [None] * len(prop.columns)
    if prop.kind == "text":
        if not isinstance(value, str):
            raise InvalidBody(f"{name}: expected a string")
        return [value]
    if prop.kind == "geo":
        if not isinstance(value, dict) or "type" not in value:
            raise InvalidBody(f"{name}: expected a GeoJSON object")
        return [dumps(value)]
    if prop.kind == "json":
        if prop.name == "properties" and not isinstance(value, dict):
            raise InvalidBody(f"{name}: expected a JSON object")
        return [dumps(value)]
    if prop.kind == "time":
        return [parse_instant(value, name)]
    return list(parse_time(value, name))  # interval


def is_reference(body: Any) -> bool:
    """An object with an `@iot.id` names an existing entity; like FROST-Server, any other
    member it has (clients send back what they read) is ignored."""
    return isinstance(body, dict) and "@iot.id" in body


def reference_id(body: dict[str, Any], etype: EntityType) -> int:
    value = body["@iot.id"]
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidBody(f"{etype.name}: @iot.id must be an integer")
    return value


def property_values(etype: EntityType, body: dict[str, Any], complete: bool) -> dict[str, Any]:
    """Column -> value for the properties in `body`. `complete` (create, PUT): mandatory
    properties must be there and missing optional ones become NULL."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in CONTROL or key.endswith("@iot.navigationLink") or key in etype.rel:
            continue
        prop = etype.prop.get(key)
        if prop is None:
            raise InvalidBody(f"{etype.name} has no property '{key}'")
        if prop.computed:
            continue
        if value is None and (prop.required or prop.not_null):
            raise InvalidBody(f"{etype.name}/{key} must not be null")
        out.update(zip(prop.columns, column_values(prop, value, etype.name), strict=True))
    if complete:
        for prop in etype.props:
            if prop.name in body or prop.computed:
                continue
            if prop.required:
                raise InvalidBody(f"{etype.name} needs '{prop.name}'")
            out.update(dict.fromkeys(prop.columns))
    return out
