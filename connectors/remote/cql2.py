"""The filter AST rendered as CQL2 (JSON and text) for an upstream OGC API – Features.

What an upstream evaluates is limited by what it declares: its CQL2 conformance classes name
the operators (`dialect()`), its queryables the properties. Anything else raises
`Unsupported`, and the planner leaves that part to the gateway.

Parts are pushed only where the upstream's answer is the gateway's, whatever the server:
- a comparison, LIKE, BETWEEN or IN has a property on its left and literals elsewhere unless
  the upstream declares property-property (Basic CQL2's shape);
- temporal operators only between values of one granularity (a date property with dates, a
  timestamp property with timestamps): the gateway reads a date as its whole day, SQL
  servers as its midnight, so mixed comparisons answer differently;
- S_DWITHIN is not CQL2 (TwinBridge's own extension) and null literals have no CQL2 form.

Text is produced by the `cql2` package from the JSON form and parsed back: only text that
reads as the very same expression is sent, so no value can change the filter's meaning
through quoting (a value is never spliced into text here).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import cql2
import shapely
from shapely.geometry import mapping

from connectors.filters import (
    ARITHMETIC,
    ARRAY,
    COMPARISON,
    GEOMETRY,
    SPATIAL,
    TEMPORAL,
    Call,
    Expr,
    Literal,
    Property,
    TimeInterval,
    Unsupported,
)

CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
BASIC = frozenset({"and", "or", "not", "isNull", *COMPARISON})
# conformance class (its last path segment) -> operators it adds
CLASS_OPS: dict[str, frozenset[str]] = {
    "basic-cql2": BASIC,
    "advanced-comparison-operators": frozenset({"like", "between", "in"}),
    "case-insensitive-comparison": frozenset({"casei"}),
    "accent-insensitive-comparison": frozenset({"accenti"}),
    "basic-spatial-functions": frozenset({"s_intersects"}),
    "basic-spatial-functions-plus": frozenset({"s_intersects"}),
    "spatial-functions": SPATIAL - {"s_dwithin"},
    "temporal-functions": TEMPORAL | {"interval"},
    "array-functions": ARRAY | {"array"},
    "arithmetic": ARITHMETIC,
}


@dataclass(frozen=True)
class Dialect:
    """What one upstream collection accepts in `filter`."""

    ops: frozenset[str]
    property_property: bool = False
    any_geometry: bool = False  # basic-spatial-functions-plus or spatial-functions
    queryables: Mapping[str, str] | None = None  # name -> FieldType (None: not known)
    geometry: str = "geometry"  # the upstream's name of the primary geometry

    @property
    def empty(self) -> bool:
        return "and" not in self.ops


def dialect(
    classes: Collection[str],
    queryables: Mapping[str, str] | None,
    geometry: str = "geometry",
) -> Dialect:
    """The dialect a set of conformance class URIs declares (names without the CQL2 prefix
    are read as CQL2 classes too, for configuration)."""
    names = {c.removeprefix(CQL2).rstrip("/") for c in classes}
    if "basic-cql2" not in names:
        return Dialect(frozenset())
    ops = frozenset().union(*(CLASS_OPS[n] for n in names if n in CLASS_OPS))
    return Dialect(
        ops=ops,
        property_property="property-property" in names,
        any_geometry=bool({"basic-spatial-functions-plus", "spatial-functions"} & names),
        queryables=queryables,
        geometry=geometry,
    )


def to_json(expr: Expr, d: Dialect) -> Any:
    """CQL2-JSON of `expr`, or Unsupported when the upstream cannot run it as we would."""
    return _Renderer(d).node(expr)


def to_text(data: Any) -> str:
    """cql2-text of a CQL2-JSON expression, checked to read back as the same expression.
    AND, OR and NOT parenthesise every operand: servers read precedence differently
    (pygeoapi's ECQL parser took `a OR b AND NOT c` otherwise than CQL2 does)."""
    try:
        text = _text(data)
        same = cql2.parse_text(text).to_json() == cql2.Expr(data).to_json()
    except Exception as e:  # noqa: BLE001 - the native library raises several kinds
        raise Unsupported("text", str(e)) from None
    if not same:
        raise Unsupported("text", "does not read back as the same expression")
    return text


def _text(node: Any) -> str:
    op = node.get("op") if isinstance(node, dict) else None
    if op in ("and", "or"):
        return f" {op.upper()} ".join(f"({_text(a)})" for a in node["args"])
    if op == "not":
        return f"NOT ({_text(node['args'][0])})"
    return str(cql2.Expr(node).to_text())


class _Renderer:
    def __init__(self, d: Dialect) -> None:
        self.d = d

    def node(self, expr: Expr) -> Any:
        if isinstance(expr, Property):
            return self.prop(expr)
        if isinstance(expr, Literal):
            return literal(expr.value, self.d.any_geometry)
        return self.call(expr)

    def prop(self, expr: Property) -> dict[str, str]:
        if expr.name == GEOMETRY:
            return {"property": self.d.geometry}
        known = self.d.queryables
        if known is not None and expr.name not in known:
            raise Unsupported("property", f"'{expr.name}' is not a queryable upstream")
        return {"property": expr.name}

    def call(self, expr: Call) -> Any:
        op, args = expr.op, expr.args
        if op not in self.d.ops:
            raise Unsupported(op, "not declared by the upstream")
        if op == "interval":
            return {"interval": [".." if _is_null(a) else self._end(a) for a in args]}
        if op == "array":
            return [self.node(a) for a in args]
        self._check_shape(expr)
        rendered = [self.node(a) for a in args]
        if op == "in":
            rendered = [rendered[0], rendered[1:]]
        return {"op": op, "args": rendered}

    def _end(self, expr: Expr) -> Any:
        if isinstance(expr, Property):
            return self.prop(expr)
        raise Unsupported("interval", "an INTERVAL end that is no literal or property")

    def _check_shape(self, expr: Call) -> None:
        op, args = expr.op, expr.args
        if op in ("and", "or", "not", "casei", "accenti"):
            return
        if op in TEMPORAL:
            self._check_temporal(expr)
        simple = _is_property(args[0]) and all(_is_value(a) for a in args[1:])
        if not (self.d.property_property or op in ARITHMETIC or simple):
            raise Unsupported(op, "only 'property op literal' without property-property")
        if op in SPATIAL and not self.d.any_geometry:
            value = next((a.value for a in args if isinstance(a, Literal)), None)
            if not isinstance(value, shapely.Point) and not _is_box(value):
                raise Unsupported(op, "basic spatial functions take points and boxes only")

    def _check_temporal(self, expr: Call) -> None:
        kinds = {_temporal_kind(a, self.d.queryables) for a in expr.args}
        kinds.discard(None)
        if len(kinds) != 1:
            raise Unsupported(expr.op, "dates and timestamps mixed (spans differ upstream)")


def literal(value: Any, any_geometry: bool = True) -> Any:
    """A literal value in CQL2-JSON."""
    if value is None:
        raise Unsupported("null", "CQL2 has no null literal")
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return {"timestamp": _timestamp(value)}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, TimeInterval):
        return {"interval": [_instant(value.start), _instant(value.end)]}
    if isinstance(value, tuple | list):
        return [literal(v, any_geometry) for v in value]
    if isinstance(value, shapely.Geometry):
        if _is_box(value):
            return {"bbox": list(value.bounds)}
        return _plain(mapping(value))
    raise Unsupported("literal", type(value).__name__)


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, tuple | list):
        return [_plain(v) for v in node]
    return node


def _timestamp(value: datetime) -> str:
    moment = value.astimezone(UTC) if value.tzinfo else value
    return moment.replace(tzinfo=None).isoformat() + "Z"


def _instant(value: date | datetime | None) -> str:
    if value is None:
        return ".."
    return _timestamp(value) if isinstance(value, datetime) else value.isoformat()


def _is_null(expr: Expr) -> bool:
    return isinstance(expr, Literal) and expr.value is None


def _is_property(expr: Expr) -> bool:
    if isinstance(expr, Call) and expr.op in ("casei", "accenti"):
        return _is_property(expr.args[0])
    return isinstance(expr, Property)


def _is_value(expr: Expr) -> bool:
    if isinstance(expr, Call) and expr.op in ("casei", "accenti", "array"):
        return all(_is_value(a) for a in expr.args)
    return isinstance(expr, Literal)


def _is_box(value: Any) -> bool:
    return (
        isinstance(value, shapely.Polygon)
        and not value.interiors
        and len(value.exterior.coords) == 5
        and value.equals(shapely.box(*value.bounds))
    )


def _temporal_kind(expr: Expr, queryables: Mapping[str, str] | None) -> str | None:
    if isinstance(expr, Property):
        return (queryables or {}).get(expr.name)
    if isinstance(expr, Literal):
        value = expr.value
        if isinstance(value, TimeInterval):
            ends = {_temporal_kind(Literal(v), None) for v in (value.start, value.end)}
            ends.discard(None)
            return ends.pop() if len(ends) == 1 else "mixed"
        if isinstance(value, datetime):
            return "datetime"
        if isinstance(value, date):
            return "date"
        return None
    if isinstance(expr, Call) and expr.op == "interval":
        ends = {_temporal_kind(a, queryables) for a in expr.args}
        ends.discard(None)
        return ends.pop() if len(ends) == 1 else "mixed"
    return "other"


__all__ = ["CLASS_OPS", "CQL2", "Dialect", "dialect", "literal", "to_json", "to_text"]
