"""System query options as one tree: `$filter`, `$expand` (nested options with `;`, slash
syntax `Datastreams/Sensor`), `$select`, `$orderby`, `$top`, `$skip`, `$count`,
`$resultFormat` and our keyset `$skiptoken`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.errors import InvalidParameter, UnknownParameter
from gateway.sensorthings.odata.ast import Node
from gateway.sensorthings.odata.expr import parse_filter, parse_orderby
from gateway.sensorthings.odata.lexer import ODataSyntaxError
from gateway.sensorthings.odata.limits import CEILINGS, Limits

OPTIONS = (
    "$filter",
    "$expand",
    "$select",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "$resultFormat",
    "$skiptoken",
    "$skipFilter",
)
NESTED = ("$filter", "$expand", "$select", "$orderby", "$top", "$skip", "$count")
_INTEGER = re.compile(r"^\+?\d{1,18}$")
_PATH = re.compile(r"^[A-Za-z_@][A-Za-z0-9_.@-]*(?:/[A-Za-z0-9_@][A-Za-z0-9_.@-]*)*$")


@dataclass(frozen=True)
class OrderItem:
    expr: Node
    descending: bool = False


@dataclass(frozen=True)
class Expand:
    rel: str
    options: QueryOptions


@dataclass(frozen=True)
class QueryOptions:
    filter: Node | None = None
    expand: tuple[Expand, ...] = ()
    select: tuple[tuple[str, ...], ...] | None = None
    orderby: tuple[OrderItem, ...] = ()
    top: int | None = None  # None: the server's default
    skip: int = 0
    count: bool = False
    result_format: str | None = None
    skiptoken: str | None = None
    skip_filter: Node | None = None  # FROST-Server's nextLink keyset, e.g. (@iot.id gt 42)
    texts: dict[str, str] = field(default_factory=dict, compare=False)  # as the client wrote


def split_top(text: str, sep: str) -> list[tuple[str, int]]:
    """Split at `sep` outside quotes and parentheses; each part with its start offset."""
    parts: list[tuple[str, int]] = []
    depth, quoted, start = 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append((text[start:i], start))
            start = i + 1
    parts.append((text[start:], start))
    return parts


def _shifted(option: str, offset: int, error: ODataSyntaxError) -> ODataSyntaxError:
    return ODataSyntaxError(option, error.message, error.pos + offset)


def _integer(option: str, value: str) -> int:
    text = value.strip()
    if not _INTEGER.match(text):
        raise InvalidParameter(option, f"'{value}' is not a non-negative integer")
    return int(text)


def _boolean(option: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise InvalidParameter(option, f"'{value}' is neither true nor false")
    return lowered == "true"


def _select(value: str) -> tuple[tuple[str, ...], ...]:
    items = []
    for part, offset in split_top(value, ","):
        text = part.strip()
        if text.startswith("distinct:"):
            raise InvalidParameter("$select", "distinct: is not supported")
        if not _PATH.match(text):
            raise ODataSyntaxError("$select", f"'{text}' is not a property path", offset + 1)
        items.append(tuple(text.split("/")))
    return tuple(items)


def _expand_item(text: str, offset: int, limits: Limits, depth: int) -> Expand:
    """One item of `$expand` at `depth` (0: the top level): `A/B/C(options)`."""
    m = re.match(r"\s*([A-Za-z][A-Za-z0-9]*(?:/[A-Za-z][A-Za-z0-9]*)*)\s*", text)
    if m is None:
        raise ODataSyntaxError("$expand", "expected a relation name", offset + 1)
    rels = m.group(1).split("/")
    depth += len(rels)
    if depth > limits.expand_depth:  # before recursing into the options below
        raise ODataSyntaxError("$expand", limits.expand_message(), offset + 1)
    rest = text[m.end() :].strip()
    options = QueryOptions()
    if rest:
        if not (rest.startswith("(") and rest.endswith(")")):
            raise ODataSyntaxError("$expand", "expected '(' options ')'", offset + m.end() + 1)
        inner_start = offset + text.index("(") + 1
        options = _nested(rest[1:-1], inner_start, limits, depth)
    for rel in reversed(rels[1:]):
        options = QueryOptions(expand=(Expand(rel, options),))
    return Expand(rels[0], options)


def _nested(text: str, offset: int, limits: Limits, depth: int) -> QueryOptions:
    values: dict[str, str] = {}
    offsets: dict[str, int] = {}
    for part, start in split_top(text, ";"):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or name not in NESTED:
            raise ODataSyntaxError(
                "$expand", f"'{name}' is not an expand option", offset + start + 1
            )
        if name in values:
            raise InvalidParameter("$expand", f"{name} given twice")
        values[name] = value
        offsets[name] = offset + start + len(part) - len(value)
    return _build(values, offsets, limits, depth, "$expand")


def merge_expands(items: Iterable[Expand]) -> tuple[Expand, ...]:
    """`Datastreams/Sensor,Datastreams/ObservedProperty` becomes one Datastreams expand."""
    merged: dict[str, Expand] = {}
    for item in items:
        old = merged.get(item.rel)
        if old is None:
            merged[item.rel] = item
            continue
        base = item.options if item.options.texts else old.options
        nested = merge_expands([*old.options.expand, *item.options.expand])
        merged[item.rel] = Expand(item.rel, replace(base, expand=nested))
    return tuple(merged.values())


def _build(
    values: dict[str, str],
    offsets: dict[str, int],
    limits: Limits,
    depth: int = 0,
    outer: str | None = None,
) -> QueryOptions:
    def guarded(option: str, parse):  # type: ignore[no-untyped-def]
        try:
            return parse(values[option])
        except ODataSyntaxError as e:
            raise _shifted(outer or option, offsets.get(option, 0), e) from None

    kw: dict = {"texts": dict(values)}
    if "$filter" in values:
        kw["filter"] = guarded("$filter", lambda t: parse_filter(t, "$filter", limits))
    if "$skipFilter" in values:
        kw["skip_filter"] = guarded("$skipFilter", lambda t: parse_filter(t, "$skipFilter", limits))
    if "$orderby" in values:
        pairs = guarded("$orderby", lambda t: parse_orderby(t, "$orderby", limits))
        kw["orderby"] = tuple(OrderItem(e, d) for e, d in pairs)
    if "$select" in values:
        kw["select"] = guarded("$select", _select)
    if "$expand" in values:
        items = [
            _expand_item(p, offsets.get("$expand", 0) + o, limits, depth)
            for p, o in split_top(values["$expand"], ",")
        ]
        kw["expand"] = merge_expands(items)
    return QueryOptions(**kw, **_scalars(values))


def _scalars(values: dict[str, str]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if "$top" in values:
        kw["top"] = _integer("$top", values["$top"])
    if "$skip" in values:
        kw["skip"] = _integer("$skip", values["$skip"])
    if "$count" in values:
        kw["count"] = _boolean("$count", values["$count"])
    if "$resultFormat" in values:
        if values["$resultFormat"].lower() != "dataarray":
            raise InvalidParameter("$resultFormat", "only dataArray is supported")
        kw["result_format"] = "dataArray"
    if "$skiptoken" in values:
        kw["skiptoken"] = values["$skiptoken"]
    return kw


def parse_options(items: Iterable[tuple[str, str]], limits: Limits = CEILINGS) -> QueryOptions:
    """Query parameters (name, value) to options; unknown `$` options are errors, other
    (custom) parameters are ignored as OData allows. `limits`: how deep `$expand` and
    expressions may nest (the facade passes the configured ones)."""
    values: dict[str, str] = {}
    for name, value in items:
        if not name.startswith("$"):
            continue
        if name not in OPTIONS:
            raise UnknownParameter(name)
        if name in values:
            raise InvalidParameter(name, "given more than once")
        values[name] = value
    return _build(values, {}, limits)
