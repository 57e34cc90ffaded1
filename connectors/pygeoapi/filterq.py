"""The filter AST as a pygeofilter AST: the `filterq` of pygeoapi's SQL providers.

pygeoapi's PostgreSQL provider hands `filterq` to pygeofilter's SQLAlchemy backend, which
renders it as SQL (`column op bound value`, PostGIS functions). The tree is built here from
our own filter AST, node by node; nothing is parsed from text and pygeofilter's native
evaluator is never used. A part is built only where PostgreSQL answers exactly as
gateway/query/evaluate.py does (three-valued logic holds alike), else `Unsupported` and the
planner keeps it:
- columns by SQL type: integer and double precision compare with numbers as Python does
  (a float literal against bigint, or an integer literal beyond 2^53 against a double, is
  left out: PostgreSQL would round one side); text only with `=`, `<>`, IN (equality under
  a deterministic collation is byte equality) and LIKE (re-escaped for PostgreSQL's
  backslash); never `<`/`>` on text (the database collation orders it), never real,
  numeric, dates, booleans, JSON (their values reach the gateway converted);
- spatial predicates with the geometry column first and a literal second, only when the
  column is in EPSG:4326 (the literal is sent as SRID 4326); boxes as BBOX;
- no NUL character in text (PostgreSQL refuses it where the gateway simply finds nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from typing import Literal as Kind

import shapely
from pygeofilter import ast, values
from shapely.geometry import mapping

from connectors.filters import (
    COMPARISON,
    GEOMETRY,
    Call,
    Expr,
    Literal,
    Property,
    Unsupported,
    like_tokens,
)

ColumnKind = Kind["integer", "bigint", "float8", "text"]
_COMPARE = {
    "=": ast.Equal,
    "<>": ast.NotEqual,
    "<": ast.LessThan,
    "<=": ast.LessEqual,
    ">": ast.GreaterThan,
    ">=": ast.GreaterEqual,
}
_SPATIAL = {
    "s_intersects": ast.GeometryIntersects,
    "s_disjoint": ast.GeometryDisjoint,
    "s_within": ast.GeometryWithin,
    "s_contains": ast.GeometryContains,
    "s_touches": ast.GeometryTouches,
    "s_overlaps": ast.GeometryOverlaps,
    "s_crosses": ast.GeometryCrosses,
    "s_equals": ast.GeometryEquals,
}
OPS = frozenset({"and", "or", "not", "between", "in", "like", "isNull", *COMPARISON, *_SPATIAL})
_EXACT_FLOAT = 2**53


def column_kinds(provider: Any) -> dict[str, ColumnKind]:
    """The pushable columns of a pygeoapi SQL provider's reflected table, by kind."""
    from sqlalchemy import BigInteger, Double, Integer, String

    kinds: dict[str, ColumnKind] = {}
    for column in provider.table_model.__table__.columns:
        t = column.type
        if isinstance(t, BigInteger):
            kinds[column.name] = "bigint"
        elif isinstance(t, Integer):
            kinds[column.name] = "integer"
        elif isinstance(t, Double):
            kinds[column.name] = "float8"
        elif isinstance(t, String) and getattr(t, "collation", None) is None:
            kinds[column.name] = "text"
    return kinds


class FilterBuilder:
    """Builds filterq trees for one SQL provider (its columns, its geometry column)."""

    def __init__(
        self, columns: Mapping[str, ColumnKind], geometry: str | None, names: frozenset[str]
    ) -> None:
        self.columns = columns
        self.nullable = names  # every column of the table (IS NULL works on any)
        self.geometry = geometry  # None: the geometry column is not in EPSG:4326

    def pushable(self, expr: Expr) -> bool:
        try:
            self.build(expr)
        except Unsupported:
            return False
        return True

    def build(self, expr: Expr) -> ast.Node:
        if not isinstance(expr, Call) or expr.op not in OPS:
            raise Unsupported(getattr(expr, "op", "value"), "not a predicate pygeoapi takes")
        op, args = expr.op, expr.args
        if op in ("and", "or"):
            node = self.build(args[0])
            joiner = ast.And if op == "and" else ast.Or
            for arg in args[1:]:
                node = joiner(node, self.build(arg))
            return node
        if op == "not":
            return ast.Not(self.build(args[0]))
        if op in _SPATIAL:
            return self._spatial(op, args)
        if op == "isNull":  # any column: NULL is NULL whatever the type
            name = self._name(args[0])
            if name not in self.nullable:
                raise Unsupported(op, f"'{name}' is no column")
            return ast.IsNull(ast.Attribute(name), False)
        name, kind = self._column(args[0])
        attr = ast.Attribute(name)
        rest = [self._value(a, kind, op) for a in args[1:]]
        if op in _COMPARE:
            return _COMPARE[op](attr, rest[0])
        if op == "between":
            return ast.Between(attr, rest[0], rest[1], False)
        if op == "in":
            return ast.In(attr, rest, False)
        return ast.Like(attr, _like(rest[0]), False, "%", "_", "\\", False)

    def _name(self, expr: Expr) -> str:
        if not isinstance(expr, Property) or expr.name == GEOMETRY:
            raise Unsupported("property", "a comparison must start with a column")
        return expr.name

    def _column(self, expr: Expr) -> tuple[str, ColumnKind | None]:
        name = self._name(expr)
        if name not in self.columns:
            raise Unsupported("property", f"'{name}' is no column of a pushable type")
        return name, self.columns[name]

    def _value(self, expr: Expr, kind: ColumnKind | None, op: str) -> Any:
        if not isinstance(expr, Literal):
            raise Unsupported(op, "only literals after the column")
        value = expr.value
        if kind == "text":
            if op not in ("=", "<>", "in", "like") or type(value) is not str:
                raise Unsupported(op, "text compares by the database collation")
            if "\x00" in value:
                raise Unsupported(op, "PostgreSQL refuses NUL in text")
            return value
        if op == "like" or isinstance(value, bool) or not isinstance(value, int | float):
            raise Unsupported(op, "a number column with a non-number")
        if isinstance(value, float) and (kind == "bigint" or value != value):
            raise Unsupported(op, "bigint against a float rounds in PostgreSQL")
        if isinstance(value, int) and kind == "float8" and abs(value) > _EXACT_FLOAT:
            raise Unsupported(op, "an integer beyond 2^53 against a double rounds")
        return value

    def _spatial(self, op: str, args: tuple[Expr, ...]) -> ast.Node:
        if self.geometry is None:
            raise Unsupported(op, "the geometry column is not in EPSG:4326")
        first, second = args
        if first != Property(GEOMETRY) or not isinstance(second, Literal):
            raise Unsupported(op, "only the geometry column against a literal")
        geom = second.value
        if not isinstance(geom, shapely.Geometry):
            raise Unsupported(op, "a spatial predicate needs a geometry literal")
        attr = ast.Attribute(self.geometry)
        if op == "s_intersects" and _is_box(geom):
            return ast.BBox(attr, *geom.bounds, None)
        return _SPATIAL[op](attr, values.Geometry(_plain(mapping(geom))))


def _like(pattern: str) -> str:
    """A CQL2 pattern as PostgreSQL LIKE reads it (backslash escapes `%`, `_` and itself)."""
    out = []
    for token, char in like_tokens(pattern):
        if token == "char" and char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _is_box(geom: shapely.Geometry) -> bool:
    return (
        isinstance(geom, shapely.Polygon)
        and not geom.interiors
        and len(geom.exterior.coords) == 5
        and geom.equals(shapely.box(*geom.bounds))
    )


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, tuple | list):
        return [_plain(v) for v in node]
    return node


__all__ = ["OPS", "ColumnKind", "FilterBuilder", "column_kinds"]
