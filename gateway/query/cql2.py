"""CQL2 filters (`filter`, `filter-lang`, `filter-crs`) parsed into the filter AST.

The `cql2` package (Rust) parses text and JSON; its JSON form is converted here, where the
gateway's rules apply: operators we evaluate, properties resolved against the queryables,
typed literals checked against them, geometry literals moved to CRS84, literal arithmetic
folded, size limits. What the package made us do:
- Its text parser recurses without limit: ~2,000 nested parentheses overflow the native
  stack and kill the worker, so nesting is measured before it sees the text.
- Numbers are doubles (integers beyond 2^53 lose digits); unknown function names pass
  through (`POINT(1)` is a function call); `validate()` rejects valid text such as
  INTERVAL(DATE(…), …) and names no position. Positions come from ParseError's "--> l:c".
- Its WKT reader is off by a unit in the last place for some coordinates: geometry literals
  are read again by GEOS (gateway/query/geometry.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import accumulate
from typing import Any

import cql2

from connectors import filters
from connectors.base import FieldType
from connectors.filters import GEOMETRY, Call, Expr, Literal, Property, TimeInterval
from gateway.errors import InvalidParameter
from gateway.query.evaluate import arithmetic
from gateway.query.geometry import GeometryReader, wkt_literals

Queryables = Mapping[str, Mapping[str, Any]]
_CLASSES = (
    "cql2-text cql2-json basic-cql2 advanced-comparison-operators case-insensitive-comparison"
    " accent-insensitive-comparison basic-spatial-functions basic-spatial-functions-plus"
    " spatial-functions temporal-functions array-functions property-property arithmetic"
)
CONFORMANCE = tuple(f"http://www.opengis.net/spec/cql2/1.0/conf/{c}" for c in _CLASSES.split())
LANGUAGES = {"cql2-text": "text", "cql-text": "text", "cql2-json": "json"}
_CANONICAL = {op.lower(): op for op in filters.OPS - {"interval", "array"}}
_ARITY = {"not": (1, 1), "isNull": (1, 1), "casei": (1, 1), "accenti": (1, 1)}
_ARITY |= {"between": (3, 3), "s_dwithin": (3, 4), "and": (1, 999), "or": (1, 999)}
_ARITY |= {op: (2, 999) for op in ("+", "-", "*", "/", "%")}
_METRES = {"m": 1.0, "meters": 1.0, "metres": 1.0, "km": 1000.0, "kilometers": 1000.0}
_POSITION = re.compile(r"-->\s*(\d+):(\d+)")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_SIGN_RUN = re.compile(r"[-+](?:\s*[-+]){3}")
_NOT = re.compile(r"\bnot\b", re.IGNORECASE)
_SCHEMA_KINDS = {
    "integer": "number",
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "array": "array",
}


@dataclass(frozen=True)
class Limits:
    length: int = 20_000  # characters of text or JSON
    nodes: int = 500
    depth: int = 30
    like_length: int = 1000  # characters of a LIKE pattern (0: no limit)
    like_wildcards: int = 64  # unescaped % and _ in a LIKE pattern (0: no limit)


def _fail(message: str) -> InvalidParameter:
    return InvalidParameter("filter", message)


def schema_kind(schema: Mapping[str, Any]) -> str | None:
    """number/string/boolean/date/datetime/geometry/array of a queryable's JSON Schema."""
    fmt = str(schema.get("format") or "")
    if schema.get("x-ogc-role") == "primary-geometry" or fmt.startswith("geometry"):
        return "geometry"
    types = schema.get("type")
    if isinstance(types, list):
        kind = next((t for t in types if t != "null"), None)
    else:  # the usual case, without a generator: this runs for every queryable per request
        kind = None if types == "null" else types
    if fmt in ("date", "date-time") and kind in ("string", None):
        return "date" if fmt == "date" else "datetime"
    return _SCHEMA_KINDS.get(kind)  # type: ignore[arg-type]


def field_types(queryables: Queryables) -> dict[str, FieldType]:
    """Queryables as FieldTypes (for evaluate.compile_predicate and sqlfilter)."""
    found: dict[str, FieldType] = {}
    for name, schema in queryables.items():
        kind = schema_kind(schema)
        if kind == "number":
            found[name] = "integer" if schema.get("type") == "integer" else "number"
        elif kind in ("string", "boolean", "date", "datetime"):
            found[name] = kind  # type: ignore[assignment]
    return found


def _check_nesting(text: str, limits: Limits) -> None:
    """Refuse nesting the native parser cannot survive, before it sees the text."""
    bare = _QUOTED.sub("''", text)
    deepest = max(accumulate((c == "(") - (c == ")") for c in bare), default=0)
    if deepest > 2 * limits.depth + 10 or _SIGN_RUN.search(bare):
        raise _fail(f"nests deeper than the limit of {limits.depth} levels")
    if len(_NOT.findall(bare)) > limits.nodes:
        raise _fail(f"has more than the limit of {limits.nodes} nodes")


def _check_json(data: Any, limits: Limits) -> None:
    """Depth and size of decoded JSON, measured iteratively before anything recurses."""
    stack, nodes = [(data, 1)], 0
    while stack:
        node, level = stack.pop()
        nodes += 1
        if level > 3 * limits.depth or nodes > 50 * limits.nodes:
            raise _fail(f"nests deeper than the limit of {limits.depth} levels")
        if isinstance(node, dict | list):
            stack.extend(
                (c, level + 1) for c in (node.values() if isinstance(node, dict) else node)
            )


def _syntax_error(error: Exception, text: str) -> InvalidParameter:
    message = str(error)
    found = _POSITION.search(message)
    if found is None:
        return _fail(f"not valid CQL2: {message.splitlines()[0][:200]}")
    line, column = int(found.group(1)), int(found.group(2))
    expected = message.rsplit("= ", 1)[-1].strip() if "= expected" in message else ""
    if "Identifier" in expected:
        expected = "expected a property, a literal or an expression"
    lines = text.splitlines() or [""]
    near = lines[min(line, len(lines)) - 1][column - 1 : column + 19]
    where = f"line {line}, column {column}" if len(lines) > 1 else f"position {column}"
    context = f"near '{near}'" if near.strip() else "at the end"
    return _fail(f"syntax error at {where} ({context}): {expected}".rstrip(": "))


def _to_cql2_json(source: Any, language: str, limits: Limits) -> Any:
    """The cql2 package's JSON form of the filter, or InvalidParameter."""
    if isinstance(source, str) and len(source) > limits.length:
        raise _fail(f"is {len(source)} characters long; the limit is {limits.length}")
    if language == "text" and not isinstance(source, str):
        raise _fail("cql2-text must be a string")
    if language == "text":
        _check_nesting(source, limits)
    try:
        data = json.loads(source) if language == "json" and isinstance(source, str) else source
    except json.JSONDecodeError as e:
        raise _fail(f"not JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except RecursionError:
        raise _fail(f"nests deeper than the limit of {limits.depth} levels") from None
    if language == "json":
        _check_json(data, limits)
    try:
        return (cql2.parse_text(data) if language == "text" else cql2.Expr(data)).to_json()
    except Exception as e:  # noqa: BLE001 - the native parser raises several kinds
        raise _syntax_error(e, source if isinstance(source, str) else "") from None


class _Converter:
    def __init__(self, queryables: Queryables | None, crs: str | None, limits: Limits) -> None:
        self.queryables = queryables
        self.kinds = {n: schema_kind(s) for n, s in (queryables or {}).items()}
        self.limits, self.text, self.nodes = limits, "", 0
        self.geometry = GeometryReader(crs)

    def where(self, name: str) -> str:
        found = re.search(rf"(?<![\w\"]){re.escape(name)}(?![\w\"])", self.text, re.IGNORECASE)
        return f" at position {found.start() + 1}" if found else ""

    def convert(self, node: Any, level: int = 1) -> Expr:
        self.nodes += 1
        if self.nodes > self.limits.nodes:
            raise _fail(f"has more than the limit of {self.limits.nodes} nodes")
        if level > self.limits.depth:
            raise _fail(f"nests deeper than the limit of {self.limits.depth} levels")
        if isinstance(node, dict):
            return self._object(node, level)
        if isinstance(node, list):
            items = [self.convert(item, level + 1) for item in node]
            if all(isinstance(i, Literal) for i in items):
                return Literal(tuple(i.value for i in items))  # type: ignore[union-attr]
            return Call("array", tuple(items))
        return Literal(_number(node) if isinstance(node, float) else node)

    def _object(self, node: dict[str, Any], level: int) -> Expr:
        if "op" in node:
            return self._op(str(node["op"]), node.get("args") or [], level)
        if "property" in node:
            return self._property(str(node["property"]))
        if "interval" in node:
            return self._interval(node["interval"], level)
        if "date" in node or "timestamp" in node:
            return Literal(_instant(node))
        if "bbox" in node:
            return Literal(self.geometry.bbox(node["bbox"]))
        if "type" in node:
            return Literal(self.geometry.geojson(node))
        raise _fail(f"not a CQL2 expression: {json.dumps(node)[:80]}")

    def _property(self, name: str) -> Property:
        if name == GEOMETRY or self.kinds.get(name) == "geometry":
            return Property(GEOMETRY)
        if self.queryables is not None and name not in self.queryables:
            known = ", ".join(sorted(self.queryables)[:20])
            raise _fail(f"unknown property '{name}'{self.where(name)}; queryables: {known}")
        return Property(name)

    def _op(self, name: str, raw_args: list[Any], level: int) -> Expr:
        op = _CANONICAL.get(name.lower())
        if op is None:
            raise _fail(f"unknown function '{name}'{self.where(name)}")
        if op == "s_dwithin":
            raw_args = [*raw_args[:2], _metres(*raw_args[2:])] if len(raw_args) > 2 else raw_args
        low, high = _ARITY.get(op, (2, 2))
        if not low <= len(raw_args) <= high:
            raise _fail(f"'{name}' takes {low if low == high else f'{low} or more'} arguments")
        args = tuple(self.convert(a, level + 1) for a in raw_args)
        if op == "in":
            items = _items(args[1])
            if items is None:
                raise _fail("IN needs a list of values")
            args = (args[0], *items)
        if op in ("and", "or") and len(args) == 1:
            return args[0]
        if op == "like":
            self._check_pattern(args[1])
        return _check(_fold(op, args), self.kinds)

    def _check_pattern(self, pattern: Expr) -> None:
        """Bound the work a LIKE pattern can ask for, in the gateway and in the databases."""
        for node in filters.walk(pattern):
            if not (isinstance(node, Literal) and isinstance(node.value, str)):
                continue
            text, limits = node.value, self.limits
            if limits.like_length and len(text) > limits.like_length:
                raise _fail(
                    f"a LIKE pattern is {len(text)} characters long; the limit is "
                    f"{limits.like_length}"
                )
            wildcards = sum(kind != "char" for kind, _ in filters.like_tokens(text))
            if limits.like_wildcards and wildcards > limits.like_wildcards:
                raise _fail(
                    f"a LIKE pattern has {wildcards} wildcards (% and _); the limit is "
                    f"{limits.like_wildcards}"
                )

    def _interval(self, ends: Any, level: int) -> Expr:
        if not isinstance(ends, list) or len(ends) != 2:
            raise _fail("INTERVAL takes a start and an end")
        parts = [self._end(end, level + 1) for end in ends]
        if not all(isinstance(p, Literal) for p in parts):
            return Call("interval", tuple(parts))
        start, end = (p.value for p in parts)  # type: ignore[union-attr]
        if None not in (start, end) and filters.start_of(start) > filters.end_of(end):
            raise _fail(f"INTERVAL starts after it ends ({start} .. {end})")
        return Literal(TimeInterval(start, end))

    def _end(self, end: Any, level: int) -> Expr:
        if end == "..":
            return Literal(None)
        if isinstance(end, str):
            return Literal(_instant({"date" if len(end) == 10 else "timestamp": end}))
        found = self.convert(end, level)
        if isinstance(found, Call) or filters.kind(found, self.kinds) not in (
            "date",
            "datetime",
            None,
        ):
            raise _fail("INTERVAL ends are dates, timestamps, '..' or temporal properties")
        return found


def _number(value: float) -> int | float:
    if value != value or value in (float("inf"), float("-inf")):
        raise _fail("numbers must be finite")
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _metres(distance: Any, unit: Any = "m") -> Any:
    name = unit.get("property") if isinstance(unit, dict) else unit
    factor = _METRES.get(str(name).lower())
    if factor is None or type(distance) not in (int, float) or distance < 0:
        raise _fail(f"S_DWITHIN takes a distance in metres or kilometres, not {distance} {name}")
    return distance * factor


def _items(expr: Expr) -> tuple[Expr, ...] | None:
    if isinstance(expr, Literal) and isinstance(expr.value, tuple) and expr.value:
        return tuple(Literal(v) for v in expr.value)
    if isinstance(expr, Call) and expr.op == "array" and expr.args:
        return expr.args
    return None


def _instant(node: Mapping[str, Any]) -> date | datetime:
    text = str(node.get("date") or node.get("timestamp") or "")
    try:
        if "date" in node:
            return date.fromisoformat(text)
        if len(text) == 10:
            raise _fail(f"'{text}' is a day: use DATE('{text}')")
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _fail(f"'{text}' is not a valid date or timestamp") from None
    if moment.tzinfo is None:
        raise _fail(f"timestamp '{text}' needs a time zone, e.g. 'Z'")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000 in UTC
        raise _fail(f"timestamp '{text}' lies outside the years 1 to 9999 in UTC") from None


def _fold(op: str, args: tuple[Expr, ...]) -> Expr:
    """Arithmetic chains become binary; literal-only arithmetic is computed once here."""
    if op not in filters.ARITHMETIC:
        return Call(op, args)
    result = args[0]
    for arg in args[1:]:
        if isinstance(result, Literal) and isinstance(arg, Literal):
            value = arithmetic(op, result.value, arg.value)
            result = Literal(None if value is None else _number(value))
        else:
            result = Call(op, (result, arg))
    return result


def _check(expr: Expr, kinds: Mapping[str, str | None]) -> Expr:
    """Type rules that turn a meaningless filter into a 400 instead of an empty result."""
    problem = filters.kind_error(expr, kinds) if isinstance(expr, Call) else None
    if problem:
        raise _fail(problem)
    return expr


def parse(
    filter_: str | Mapping[str, Any],
    lang: str | None = None,
    queryables: Queryables | None = None,
    filter_crs: str | None = None,
    *,
    limits: Limits | None = None,
) -> Expr:
    """A `filter` (cql2-text, its alias cql-text, or cql2-json as text or decoded JSON) as
    the filter AST, with properties resolved against `queryables` (all names are accepted
    when None). Raises InvalidParameter naming `filter`, `filter-lang` or `filter-crs`."""
    limits = limits or Limits()
    language = LANGUAGES.get(lang or ("cql2-text" if isinstance(filter_, str) else "cql2-json"))
    if language is None:
        raise InvalidParameter("filter-lang", f"'{lang}' is not one of {', '.join(LANGUAGES)}")
    reader = _Converter(queryables, filter_crs, limits)
    data = _to_cql2_json(filter_, language, limits)
    reader.text = str(filter_) if language == "text" else ""
    reader.geometry.expect(wkt_literals(reader.text))
    expr = reader.convert(data)
    if filters.kind(expr, reader.kinds) not in ("predicate", "boolean") or isinstance(
        expr, Property
    ):
        raise _fail("a filter must be a condition (true or false), not a value")
    return expr


__all__ = ["CONFORMANCE", "LANGUAGES", "Limits", "field_types", "parse", "schema_kind"]
