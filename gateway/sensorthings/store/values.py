"""Request bodies to column values: type checks per property kind, mandatory properties,
the three result columns, and the limits every written value keeps (`WriteLimits`), so that
no entity grows large enough to weigh on every page that shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.errors import NotFound
from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.model import EntityType, Prop
from gateway.sensorthings.store.geojson import check_geojson
from gateway.sensorthings.timefmt import parse_instant, parse_time

CONTROL = ("@iot.id", "@iot.selfLink", "id")
MAX_ID = 2**63 - 1  # ids are BIGINT in both stores


@dataclass(frozen=True)
class WriteLimits:
    """What one written value may be; `server.sensorthings` sets them (see its fields)."""

    text_length: int = 10_000
    json_bytes: int = 65_536
    json_depth: int = 32
    entity_depth: int = 10

    @property
    def body_depth(self) -> int:
        """The deepest JSON a valid body can have: two levels per nested entity (an array
        and an object), then a JSON property. Deeper bodies are refused before any code
        walks them recursively."""
        return 2 * self.entity_depth + self.json_depth + 4


def check_body(body: Any, limits: WriteLimits) -> None:
    """A whole body, before anything else looks at it: nested no deeper than a valid one can
    be, and no NUL character in any string or key (no store keeps one; PostgreSQL refuses
    them). Walked without recursion; only a body that fails is walked again to name the
    place as a JSON pointer."""
    if not _clean(body, limits.body_depth):
        raise _locate(body, limits.body_depth)


def _clean(body: Any, most: int) -> bool:
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > most or any("\x00" in key for key in value):
                return False
            members: Any = value.values()
        elif isinstance(value, list):
            if depth > most:
                return False
            members = value
        else:
            if isinstance(value, str) and "\x00" in value:
                return False
            continue
        for member in members:
            if isinstance(member, dict | list):
                stack.append((member, depth + 1))
            elif isinstance(member, str) and "\x00" in member:
                return False
    return True


def _locate(body: Any, most: int) -> InvalidBody:
    """The first problem `_clean` found, with its JSON pointer."""
    stack: list[tuple[Any, int, str]] = [(body, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return InvalidBody(f"{where or '/'}: NUL characters are not allowed")
        if not isinstance(value, dict | list):
            continue
        if depth > most:
            return InvalidBody(f"{where}: JSON nested more than {most} levels")
        if isinstance(value, list):
            stack += [(v, depth + 1, f"{where}/{i}") for i, v in enumerate(value)]
            continue
        for key, member in value.items():
            if "\x00" in key:
                return InvalidBody(f"{where or '/'}: NUL characters are not allowed in keys")
            stack.append((member, depth + 1, f"{where}/{key}"))
    return InvalidBody("not a valid body")  # not reached: `_clean` found a problem


def json_depth(value: Any) -> int:
    """Levels of arrays and objects (a plain value: 0); without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            members = current.values() if isinstance(current, dict) else current
            stack += [(member, depth) for member in members]
    return deepest


def encoded(value: Any, name: str, limits: WriteLimits) -> str:
    """`value` as JSON text, within the depth and size limits (400 naming the property)."""
    if json_depth(value) > limits.json_depth:
        raise InvalidBody(
            f"{name}: nested more than {limits.json_depth} levels deep"
            " (limit: server.sensorthings.max_json_depth)"
        )
    raw = orjson.dumps(value)
    if len(raw) > limits.json_bytes:
        raise InvalidBody(
            f"{name}: {len(raw)} bytes as JSON, more than {limits.json_bytes}"
            " (limit: server.sensorthings.max_json_bytes)"
        )
    return raw.decode()


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def result_columns(
    value: Any, limits: WriteLimits | None = None, name: str = "result"
) -> tuple[str | None, float | None, str | None]:
    """(result_json, result_number, result_string) of one result value; with `limits`, a
    value beyond them is a 400."""
    if value is None:
        return None, None, None
    if isinstance(value, bool):
        text = "true" if value else "false"
        return text, None, text
    if isinstance(value, int | float):
        text = dumps(value)
        return text, float(value), text
    text = dumps(value) if limits is None else encoded(value, name, limits)
    return text, None, value if isinstance(value, str) else None


def column_values(prop: Prop, value: Any, owner: str, limits: WriteLimits) -> list[Any]:
    name = f"{owner}/{prop.name}"
    if prop.kind == "result":
        return list(result_columns(value, limits, name))
    if value is None:
        return [None] * len(prop.columns)
    if prop.kind == "text":
        if not isinstance(value, str):
            raise InvalidBody(f"{name}: expected a string")
        if len(value) > limits.text_length:
            raise InvalidBody(
                f"{name}: longer than {limits.text_length} characters"
                " (limit: server.sensorthings.max_text_length)"
            )
        return [value]
    if prop.kind == "geo":
        check_geojson(value, name)
        return [encoded(value, name, limits)]
    if prop.kind == "json":
        if prop.name == "properties" and not isinstance(value, dict):
            raise InvalidBody(f"{name}: expected a JSON object")
        return [encoded(value, name, limits)]
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
    if not -MAX_ID <= value <= MAX_ID:  # no store could hold it, so it names nothing
        raise NotFound(f"no {etype.name} with id {value}")
    return value


def property_values(
    etype: EntityType, body: dict[str, Any], complete: bool, limits: WriteLimits
) -> dict[str, Any]:
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
        out.update(zip(prop.columns, column_values(prop, value, etype.name, limits), strict=True))
    if complete:
        for prop in etype.props:
            if prop.name in body or prop.computed:
                continue
            if prop.required:
                raise InvalidBody(f"{etype.name} needs '{prop.name}'")
            out.update(dict.fromkeys(prop.columns))
    return out
