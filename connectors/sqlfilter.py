"""A filter AST (source names) as a SQL WHERE fragment with bound parameters only.

`compile_sql` renders exactly what gateway/query/evaluate.py computes, or raises
`Unsupported(op)` so that the planner keeps that part for the gateway. What that takes:
- Types: every property needs its FieldType (`types`), because SQLite compares by storage
  class and PostgreSQL resolves operators by type; an unknown or `json` column is Unsupported,
  as is any comparison of two different kinds (the evaluator says unknown there).
- Strings compare by code point. SQLite: `COLLATE BINARY` always (a column declared NOCASE
  or RTRIM would compare its own way; an index on an ordinary column still serves it).
  PostgreSQL: `COLLATE "C"` for ordering (<, <=, >, >=, BETWEEN) and LIKE only. Equality
  (=, <>, IN) under a deterministic collation, as every database default is, holds exactly
  when the bytes are equal, so it keeps the column's collation and a plain btree index can
  serve it; a column with a nondeterministic collation is given to the compiler already as
  `(col COLLATE "C")` (connectors/postgis/table.py).
- Numbers compare exactly, as Python compares them: a literal is restated in the values the
  column holds (connectors/sqlcompare.py, bounds.py), so a literal beyond bigint, or a
  fraction against an integer column, is decided in SQL rather than left to the gateway.
- LIKE: SQLite's LIKE ignores ASCII case, so patterns become GLOB patterns; PostgreSQL gets
  the pattern re-escaped with `ESCAPE E'\\\\'` (backslash whatever standard_conforming_strings
  says), so a trailing backslash cannot raise. A pattern must be a literal.
- Temporal values, SQLite: dates as `date(col)`, instants as `strftime('%Y-%m-%dT%H:%M:%f')`
  text (millisecond precision, as GeoPackage stores them; literals with finer precision are
  Unsupported); a day's end is `…T23:59:59.999999`, which sorts right against those.
  PostgreSQL: native date/timestamptz; naive `timestamp` columns are read in the session
  TimeZone, which the connector must set to UTC (the evaluator reads naive values as UTC).
- Arithmetic: SQLite `+ - * /` in REAL (division by zero is NULL, as in the evaluator);
  PostgreSQL raises on overflow and division by zero, so arithmetic stays in the gateway.
- Spatial (PostGIS only): GEOS predicates between the column and a WKB literal. A column in
  another SRID is compared after ST_Transform to 4326 (CRS84 semantics, as the evaluator),
  behind an `&&` test against the literal's envelope in the column's SRID so the GiST index
  still prunes. The gateway moves stored geometries with pyproj, PostGIS with its own PROJ:
  both run the same operation, and they agree to the bit on the pipelines tested
  (tests/query/test_spatial_exact.py: shared vertices in EPSG:25832 touch in both), so even
  S_TOUCHES and S_EQUALS are pushed; a PROJ that rounded differently would show there.
- Unsupported everywhere: CASEI/ACCENTI (str.casefold and NFKD differ from SQL lower() and
  unaccent, whose results also depend on the database locale: 'ß' vs 'SS', final sigma),
  S_DWITHIN (geodesic distance differs from ST_DWithin on geography at the boundary) and
  arrays (column types vary: text[], jsonb, JSON text).
Placeholders are numbered (`?N` / `$N`) because temporal formulas use an operand twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from typing import Literal as Lit

import shapely

from connectors.crs import bbox_from_crs84
from connectors.filters import (
    COMPARABLE,
    COMPARISON,
    GEOMETRY,
    MAX_TIME,
    MIN_TIME,
    SPATIAL,
    TEMPORAL,
    TEMPORAL_RELATIONS,
    Call,
    Expr,
    Literal,
    Property,
    TimeInterval,
    Unsupported,
    end_of,
    like_tokens,
    start_of,
    value_kind,
)
from connectors.sqlcompare import INT64_MAX, INT64_MIN, Comparisons, is_null, is_number

Dialect = Lit["sqlite", "postgis"]

_COMMON = COMPARISON | TEMPORAL | {"and", "or", "not", "like", "between", "in", "isNull"}
OPERATORS: dict[str, frozenset[str]] = {
    "sqlite": frozenset(_COMMON | {"+", "-", "*", "/", "interval"}),
    "postgis": frozenset(_COMMON | (SPATIAL - {"s_dwithin"}) | {"interval"}),
}
_KINDS = {"integer": "number", "number": "number", "string": "string", "boolean": "boolean"}
_KINDS |= {"date": "date", "datetime": "datetime"}
_PG_CAST = {"number": "", "string": "::text", "boolean": "::boolean"}
_PG_CAST |= {"date": "::date", "datetime": "::timestamptz"}
_SQLITE_TS = "strftime('%Y-%m-%dT%H:%M:%f', {})"
_ST = {op: "ST_" + op[2:].capitalize() for op in SPATIAL}


def sqlite_time(value: datetime) -> str:
    """An instant as SQLite's normalised text (strftime's milliseconds). The last microsecond
    of a day keeps six digits: it sorts after every millisecond of that second, as it should.
    Any other sub-millisecond instant cannot be compared exactly: Unsupported."""
    value = start_of(value)
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value:%H:%M:%S}."
    if value.microsecond == 999_999:
        return text + "999999"
    if value.microsecond % 1000:
        raise Unsupported("timestamp", "SQLite keeps milliseconds")
    return text + f"{value.microsecond // 1000:03d}"


class _Compiler(Comparisons):
    def __init__(
        self,
        dialect: Dialect,
        column: Callable[[str], str],
        geometry: str | None,
        types: Mapping[str, str],
        srid: int,
        first: int,
    ) -> None:
        if dialect not in OPERATORS:
            raise ValueError(f"unknown SQL dialect '{dialect}'")
        self.dialect, self.column, self.geometry = dialect, column, geometry
        self.types, self.srid, self.first = types, srid, first
        self.params: list[Any] = []
        self.pg = dialect == "postgis"
        self.negated = False  # under an odd number of NOTs (see constant)

    def param(self, value: Any, cast: str = "") -> str:
        self.params.append(value)
        n = self.first + len(self.params) - 1
        return f"${n}{cast}" if self.pg else f"?{n}"

    # --- predicates -------------------------------------------------------------------

    def predicate(self, expr: Expr) -> str:
        if isinstance(expr, Literal) and (expr.value is None or isinstance(expr.value, bool)):
            return {None: "NULL", True: "TRUE", False: "FALSE"}[expr.value]
        if not isinstance(expr, Call) or expr.op not in OPERATORS[self.dialect]:
            raise Unsupported(expr.op if isinstance(expr, Call) else type(expr).__name__)
        op, args = expr.op, expr.args
        if op in ("and", "or"):
            return "(" + f" {op.upper()} ".join(self.predicate(a) for a in args) + ")"
        if op == "not":
            self.negated = not self.negated
            try:
                return f"(NOT {self.predicate(args[0])})"
            finally:
                self.negated = not self.negated
        if op in TEMPORAL:
            return self._temporal(op, args)
        if op in SPATIAL:
            return self._spatial(op, args)
        if op == "isNull":
            return self._is_null(args[0])
        if op == "like":
            return self._like(args)
        return self.compare(op, args)

    def _is_null(self, arg: Expr) -> str:
        if arg == Property(GEOMETRY):
            if not self.pg or self.geometry is None:
                raise Unsupported("isNull", "geometry")
            return f"({self.geometry} IS NULL OR ST_IsEmpty({self.geometry}))"
        if isinstance(arg, Literal):
            return "TRUE" if arg.value is None else "FALSE"
        return f"({self.value(arg)[0]} IS NULL)"

    def _like(self, args: tuple[Expr, ...]) -> str:
        value, pattern = args
        if is_null(pattern) or is_null(value):
            return "NULL"
        sql, kind = self.value(value)
        if kind != "string" or not (isinstance(pattern, Literal) and type(pattern.value) is str):
            raise Unsupported("like", "a string and a literal pattern")
        tokens = like_tokens(pattern.value)
        if self.pg:
            special = {"any": "%", "one": "_"}
            text = "".join(special.get(k) or ("\\" + c if c in "%_\\" else c) for k, c in tokens)
            return f"({sql} COLLATE \"C\" LIKE {self.param(text, '::text')} ESCAPE E'\\\\')"
        special = {"any": "*", "one": "?"}
        text = "".join(special.get(k) or (f"[{c}]" if c in "*?[" else c) for k, c in tokens)
        return f"({sql} GLOB {self.param(text)})"

    # --- values -----------------------------------------------------------------------

    def value(self, expr: Expr) -> tuple[str, str]:
        """(SQL, kind) of a scalar operand; kind is number/string/boolean/date/datetime."""
        if isinstance(expr, Property):
            return self._column(expr.name)
        if isinstance(expr, Literal):
            return self._literal(expr.value)
        if isinstance(expr, Call) and expr.op in ("+", "-", "*", "/") and not self.pg:
            (a, ka), (b, kb) = (self._operand(arg) for arg in expr.args)
            if not {ka, kb} <= {"number", "null"}:  # null in, null out, as in the evaluator
                raise Unsupported(expr.op, "arithmetic on numbers only")
            return f"(CAST({a} AS REAL) {expr.op} {b})", "number"
        raise Unsupported(expr.op if isinstance(expr, Call) else "value")

    def _operand(self, expr: Expr) -> tuple[str, str]:
        """An arithmetic operand: the evaluator computes in doubles, so an integer beyond
        bigint is its double (null when no double holds it)."""
        if is_number(expr) and not INT64_MIN <= expr.value <= INT64_MAX:  # type: ignore[union-attr]
            try:
                return self.param(float(expr.value)), "number"  # type: ignore[union-attr]
            except OverflowError:
                return "NULL", "null"  # no double: null, as the evaluator's arithmetic says
        return self.value(expr)

    def _column(self, name: str) -> tuple[str, str]:
        kind = _KINDS.get(self.types.get(name, ""))
        if name == GEOMETRY or kind is None:
            raise Unsupported("property", f"'{name}' has no comparable type")
        sql = self.column(name)
        if not self.pg and kind == "date":
            return f"date({sql})", kind
        if not self.pg and kind == "datetime":
            return _SQLITE_TS.format(sql), kind
        return sql, kind

    def _literal(self, value: Any) -> tuple[str, str]:
        if value is None:
            return "NULL", "null"
        kind = value_kind(value)
        if kind not in COMPARABLE:
            raise Unsupported("literal", f"{value!r} as an SQL value")
        if isinstance(value, int) and kind == "number" and not INT64_MIN <= value <= INT64_MAX:
            raise Unsupported("literal", "an integer beyond bigint, unless compared with a column")
        if self.pg:
            cast = _PG_CAST[kind] or ("::bigint" if isinstance(value, int) else "::float8")
            return self.param(value, cast), kind
        if kind == "datetime":
            return self.param(sqlite_time(value)), kind
        if kind == "date":
            return self.param(value.isoformat()), kind
        return self.param(value), kind

    # --- temporal ---------------------------------------------------------------------

    def _temporal(self, op: str, args: tuple[Expr, ...]) -> str:
        any_of, terms = TEMPORAL_RELATIONS[op]
        spans = [self._span(a) for a in args]
        ends: dict[str, str] = {}  # rendered on first use: no parameter bound but unused

        def end(name: str) -> str:
            if name not in ends:
                ends[name] = spans[int(name[1]) - 1](name[0] == "s")
            return ends[name]

        parts = [f"({end(left)} {cmp} {end(right)})" for left, cmp, right in terms]
        return "(" + (" OR " if any_of else " AND ").join(parts) + ")"

    def _span(self, expr: Expr) -> Callable[[bool], str]:
        """Renders the start (True) or end (False) of a temporal operand."""
        if isinstance(expr, Call) and expr.op == "interval":
            start, end = expr.args
            return lambda first: self._end(start if first else end, first)
        if isinstance(expr, Literal) and isinstance(expr.value, TimeInterval):
            interval = expr.value
            return lambda first: self._end(
                Literal(interval.start if first else interval.end), first
            )
        if not isinstance(expr, Property | Literal) or expr == Literal(None):
            raise Unsupported("interval", "a property or a temporal literal")
        return lambda first: self._end(expr, first)

    def _end(self, expr: Expr, start: bool) -> str:
        """The SQL of a span's start or end (a date covers its day; None is open)."""
        if isinstance(expr, Literal):
            value = expr.value
            if value is None:
                moment = MIN_TIME if start else MAX_TIME
            elif isinstance(value, date):
                moment = start_of(value) if start else end_of(value)
            else:
                raise Unsupported("interval", "a temporal literal")
            return (
                self.param(moment, "::timestamptz") if self.pg else self.param(sqlite_time(moment))
            )
        if not isinstance(expr, Property):
            raise Unsupported("interval", "a property or a literal")
        sql, kind = self._column(expr.name)
        if kind == "datetime":
            return f"({sql})::timestamptz" if self.pg else sql
        if kind != "date":
            raise Unsupported("interval", f"'{expr.name}' is not temporal")
        if self.pg:
            day = sql if start else f"({sql} + 1)"
            tick = "" if start else " - interval '1 microsecond'"
            return f"(({day})::timestamp AT TIME ZONE 'UTC'{tick})"
        return f"({sql} || '{'T00:00:00.000' if start else 'T23:59:59.999999'}')"

    # --- spatial (PostGIS) --------------------------------------------------------------

    def _spatial(self, op: str, args: tuple[Expr, ...]) -> str:
        if not self.pg or op == "s_dwithin":
            raise Unsupported(op)
        sides = [self._geometry_operand(op, a) for a in args]
        exact = f"{_ST[op]}({sides[0][0]}, {sides[1][0]})"
        literals = [a.value for a in args if isinstance(a, Literal)]
        if self.srid == 4326 or len(literals) != 1 or op == "s_disjoint":
            return f"({exact})"
        envelope = bbox_from_crs84(tuple(literals[0].bounds), f"EPSG:{self.srid}")
        if envelope is None:  # the projection cannot bound the literal: no index, exact only
            return f"({exact})"
        box = ", ".join(self.param(v, "::float8") for v in envelope)
        return f"({self.geometry} && ST_MakeEnvelope({box}, {self.srid}) AND {exact})"

    def _geometry_operand(self, op: str, arg: Expr) -> tuple[str, bool]:
        if arg == Property(GEOMETRY) and self.geometry is not None:
            if self.srid == 4326:
                return self.geometry, False
            return f"ST_Transform({self.geometry}, 4326)", False
        if isinstance(arg, Literal) and isinstance(arg.value, shapely.Geometry):
            if arg.value.geom_type == "GeometryCollection" and op not in (
                "s_intersects",
                "s_disjoint",
            ):
                raise Unsupported(op, "collections differ between GEOS versions")
            wkb = shapely.to_wkb(arg.value, output_dimension=2)
            return f"ST_GeomFromWKB({self.param(wkb, '::bytea')}, 4326)", True
        raise Unsupported(op, "the geometry or a geometry literal")


def compile_sql(
    expr: Expr,
    dialect: Dialect,
    column: Callable[[str], str],
    geometry: str | None = None,
    *,
    types: Mapping[str, str] | None = None,
    srid: int = 4326,
    first_param: int = 1,
) -> tuple[str, list[Any]]:
    """`expr` as (WHERE fragment, parameters). `column(name)` gives a property's quoted
    column; `geometry` the quoted geometry column (Property("geometry")); `types` each
    property's FieldType; `srid` the geometry column's; placeholders are numbered from
    `first_param` (`?N` for sqlite3, `$N` for asyncpg). Raises Unsupported."""
    compiler = _Compiler(dialect, column, geometry, types or {}, srid, first_param)
    return compiler.predicate(expr), compiler.params


def pushable(
    dialect: Dialect, *, types: Mapping[str, str], srid: int = 4326
) -> Callable[[Expr], bool]:
    """A test for the planner: would `compile_sql` render this expression?"""

    def test(expr: Expr) -> bool:
        try:
            compile_sql(expr, dialect, lambda name: '"c"', '"g"', types=types, srid=srid)
        except Unsupported:
            return False
        return True

    return test


__all__ = ["OPERATORS", "Dialect", "Unsupported", "compile_sql", "pushable", "sqlite_time"]
