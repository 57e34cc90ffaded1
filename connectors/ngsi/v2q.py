"""Filter pushdown to NGSI-v2: the filter AST (connectors/filters.py) as Orion's `q`
statements and one geo-query, only where the broker selects exactly what the gateway's
evaluation would; anything else raises `Unsupported` (the planner keeps it as residual), so
a malformed or approximate `q` is never sent.

What is exact, and why:
- `q` is an AND of statements, so only conjuncts go: no OR, no NOT, no IS NULL (`!attr`
  tests absence, but an attribute holding null, or a value the connector left out for its
  type, is null to the gateway too).
- Numbers: MongoDB compares within a type (`>`, `<`, ranges match numbers only), but
  Orion's `==` with an unquoted number also matches the string "5", and `!=` matches any
  other type: so `=` becomes the range `a==5..5`, `IN` and `<>` get a guard range over all
  numbers. Strings are always single-quoted (forcing a string) and left out when they hold
  one of Orion's forbidden characters `<>"'=;()`, `..`, or edge whitespace. Instants compare
  as instants (only on DateTime attributes, where the connector declares `datetime`),
  at Orion's millisecond precision. Booleans: `=` only.
- LIKE becomes a `~=` regex anchored at both ends, `%` -> `[\\s\\S]*`, `_` -> `[\\s\\S]`,
  metacharacters escaped; a pattern needing `(`, `)` or another forbidden character stays
  residual. (`$` also matches before a final newline, in PCRE as in Python.)
- Geometry: `S_INTERSECTS` and `S_DISJOINT` of the location with a literal point, line,
  polygon without holes or box become `georel`/`geometry`/`coords` (**lat,lon** order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon

from connectors.filters import GEOMETRY, Call, Expr, Literal, Property, Unsupported, like_tokens

FORBIDDEN = frozenset("<>\"'=;()")
NUMBERS = "-1.7976931348623157e308..1.7976931348623157e308"
_REGEX_META = frozenset("\\.^$*+?{}[]|/")
_GEO_RELATIONS = {"s_intersects": "intersects", "s_disjoint": "disjoint"}


@dataclass(frozen=True)
class Target:
    """A field the broker can filter on: its `q` path and its FieldType."""

    path: str
    type: str


@dataclass(frozen=True)
class GeoParams:
    georel: str
    geometry: str
    coords: str

    def params(self) -> dict[str, str]:
        return {"georel": self.georel, "geometry": self.geometry, "coords": self.coords}


def _number(value: Any) -> str:
    """A number as Orion reads it (a double): only values a double holds exactly, so the
    broker compares the very number the gateway does."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unsupported("q", "not a number")
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise Unsupported("q", "an integer a double does not hold exactly")
        return str(value)
    if not math.isfinite(value):
        raise Unsupported("q", "not a finite number")
    return repr(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Unsupported("q", "not a string")
    if FORBIDDEN & set(value) or ".." in value or value != value.strip() or "\n" in value:
        raise Unsupported("q", "a string Orion cannot take in q")
    return f"'{value}'"


def _instant(value: Any) -> str:
    if not isinstance(value, datetime) or value.microsecond % 1000:
        raise Unsupported("q", "not an instant at millisecond precision")
    moment = value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _literal(value: Any, kind: str) -> str:
    if kind in ("number", "integer"):
        return _number(value)
    if kind == "string":
        return _string(value)
    if kind == "datetime":
        return _instant(value)
    raise Unsupported("q", f"no literal of a {kind} field")


def _operands(call: Call, fields: Mapping[str, Target]) -> tuple[Target, list[Any]]:
    first, rest = call.args[0], call.args[1:]
    if not isinstance(first, Property) or first.name not in fields:
        raise Unsupported(call.op, "the left side is not a field the broker filters on")
    if not all(isinstance(a, Literal) for a in rest):
        raise Unsupported(call.op, "the right side is not a literal")
    return fields[first.name], [a.value for a in rest]  # type: ignore[union-attr]


def _comparison(call: Call, fields: Mapping[str, Target]) -> list[str]:
    target, (value,) = _operands(call, fields)
    path, kind = target.path, target.type
    if kind == "boolean":
        if call.op != "=" or not isinstance(value, bool):
            raise Unsupported(call.op, "booleans: only =")
        return [f"{path}=={'true' if value else 'false'}"]
    text = _literal(value, kind)
    if call.op == "=":
        return [f"{path}=={text}..{text}" if kind in ("number", "integer") else f"{path}=={text}"]
    if call.op == "<>":
        if kind in ("number", "integer"):
            return [f"{path}!={text}", f"{path}=={NUMBERS}"]
        if kind == "string":
            return [f"{path}!={text}", f"{path}>=''"]
        raise Unsupported("<>", f"on a {kind} field")
    return [f"{path}{call.op}{text}"]


def _between(call: Call, fields: Mapping[str, Target]) -> list[str]:
    target, (low, high) = _operands(call, fields)
    if target.type not in ("number", "integer", "datetime"):
        raise Unsupported("between", f"on a {target.type} field")
    return [f"{target.path}=={_literal(low, target.type)}..{_literal(high, target.type)}"]


def _in(call: Call, fields: Mapping[str, Target]) -> list[str]:
    target, values = _operands(call, fields)
    if target.type not in ("number", "integer", "string") or not values:
        raise Unsupported("in", f"on a {target.type} field")
    items = ",".join(_literal(v, target.type) for v in values)
    if target.type == "string":
        return [f"{target.path}=={items}"]
    return [f"{target.path}=={items}", f"{target.path}=={NUMBERS}"]


def like_regex(pattern: str) -> str:
    """A CQL2 LIKE pattern as an anchored regex Orion can take (Unsupported otherwise)."""
    out = ["^"]
    for kind, char in like_tokens(pattern):
        if kind == "any":
            out.append("[\\s\\S]*")
        elif kind == "one":
            out.append("[\\s\\S]")
        elif char in FORBIDDEN or char in ",\n" or ord(char) < 32:
            raise Unsupported("like", "a character Orion cannot take in q")
        else:
            out.append("\\" + char if char in _REGEX_META else char)
    out.append("$")
    return "".join(out)


def _like(call: Call, fields: Mapping[str, Target]) -> list[str]:
    target, (pattern,) = _operands(call, fields)
    if target.type != "string" or not isinstance(pattern, str):
        raise Unsupported("like", "only on string fields")
    return [f"{target.path}~={like_regex(pattern)}"]


def _temporal(call: Call, fields: Mapping[str, Target]) -> list[str]:
    """T_AFTER / T_BEFORE of an instant field and an instant: a span of one instant each,
    so `s1 > e2` is `>` (and `e1 < s2` is `<`)."""
    target, (value,) = _operands(call, fields)
    if target.type != "datetime" or not isinstance(value, datetime):
        raise Unsupported(call.op, "only an instant field against an instant")
    return [f"{target.path}{'>' if call.op == 't_after' else '<'}{_instant(value)}"]


_COMPILERS = {
    "=": _comparison,
    "<>": _comparison,
    "<": _comparison,
    "<=": _comparison,
    ">": _comparison,
    ">=": _comparison,
    "between": _between,
    "in": _in,
    "like": _like,
    "t_after": _temporal,
    "t_before": _temporal,
}


OPS = frozenset({*_COMPILERS, *_GEO_RELATIONS})


def statements(expr: Expr, fields: Mapping[str, Target]) -> list[str]:
    """One conjunct as `q` statements (AND), or Unsupported."""
    if not isinstance(expr, Call) or expr.op not in _COMPILERS:
        op = expr.op if isinstance(expr, Call) else "literal"
        raise Unsupported(op, "not expressible in NGSI-v2 q")
    return _COMPILERS[expr.op](expr, fields)


def _latlon(points: Any) -> str:
    return ";".join(f"{y!r},{x!r}" for x, y, *_ in points)


def is_geo(expr: Expr) -> bool:
    return isinstance(expr, Call) and expr.op in _GEO_RELATIONS


def literal_geometry(expr: Call) -> Any:
    """The literal geometry of a geo term (checked by `geo_params` before)."""
    return next(a.value for a in expr.args if isinstance(a, Literal))


def geo_params(expr: Expr) -> GeoParams:
    """`S_INTERSECTS(geometry, <literal>)` / `S_DISJOINT` as a v2 geo-query (lat,lon!)."""
    if not isinstance(expr, Call) or expr.op not in _GEO_RELATIONS or len(expr.args) != 2:
        raise Unsupported(getattr(expr, "op", "geo"), "not a v2 geo-query")
    first, second = expr.args
    if isinstance(second, Property) and isinstance(first, Literal):
        first, second = second, first
    if not (isinstance(first, Property) and first.name == GEOMETRY):
        raise Unsupported(expr.op, "only on the location")
    if not isinstance(second, Literal) or not isinstance(second.value, shapely.Geometry):
        raise Unsupported(expr.op, "only with a literal geometry")
    shape = second.value
    relation = _GEO_RELATIONS[expr.op]
    if isinstance(shape, Point):
        return GeoParams(relation, "point", _latlon([shape.coords[0]]))
    if isinstance(shape, LineString):
        return GeoParams(relation, "line", _latlon(shape.coords))
    if isinstance(shape, Polygon) and not shape.interiors:
        ring = list(shape.exterior.coords)
        if len(ring) == 5 and shape.equals(shapely.box(*shape.bounds)):
            west, south, east, north = shape.bounds
            return GeoParams(relation, "box", _latlon([(west, south), (east, north)]))
        return GeoParams(relation, "polygon", _latlon(ring))
    raise Unsupported(expr.op, "NGSI-v2 takes points, lines, boxes and simple polygons")


def bbox_params(bbox: tuple[float, float, float, float]) -> GeoParams:
    west, south, east, north = bbox
    if west == east and south == north:
        return GeoParams("intersects", "point", _latlon([(west, south)]))
    return GeoParams("intersects", "box", _latlon([(west, south), (east, north)]))


def pushable(expr: Expr, fields: Mapping[str, Target]) -> bool:
    try:
        if isinstance(expr, Call) and expr.op in _GEO_RELATIONS:
            geo_params(expr)
        else:
            statements(expr, fields)
    except Unsupported:
        return False
    return True


_SAFE_PATH = re.compile(r"^[^\s<>\"'=;()&?/#.]+(\.[^\s<>\"'=;()&?/#.]+)*$")


def q_path(parts: tuple[str, ...]) -> str | None:
    """An attribute path as `q` writes it (None when a token cannot be written)."""
    text = ".".join(parts)
    return text if all(parts) and _SAFE_PATH.match(text) else None


__all__ = [
    "OPS",
    "GeoParams",
    "Target",
    "bbox_params",
    "geo_params",
    "is_geo",
    "literal_geometry",
    "like_regex",
    "pushable",
    "q_path",
    "statements",
]
