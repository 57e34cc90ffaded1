"""The two SQL dialects of the embedded store. Both number their placeholders (`?1` in
SQLite, `$1` in PostgreSQL), so fragments can be built in any order; PostgreSQL's are typed
from the Python value because asyncpg cannot always infer them.

Times are BIGINT microseconds since 1970 UTC in both, JSON is text (SQLite) or jsonb
(PostgreSQL); the geometry predicates run in Python (shapely) in SQLite and in PostGIS.
"""

from __future__ import annotations

from typing import Any

DATE_FORMATS = {
    "year": "%Y",
    "month": "%m",
    "day": "%d",
    "hour": "%H",
    "minute": "%M",
    "second": "%S",
}


class Sql:
    """Bound parameters of one statement under construction."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return self.dialect.placeholder(len(self.params), value)

    def json_param(self, text: str) -> str:
        self.params.append(text)
        return self.dialect.json_placeholder(len(self.params))


class Dialect:
    name = ""
    union_chunk = 1  # parents per statement when expanding to-many relations
    json_type = "TEXT"
    id_column = ""
    real = "REAL"

    def placeholder(self, n: int, value: Any) -> str:
        raise NotImplementedError

    def json_placeholder(self, n: int) -> str:
        raise NotImplementedError

    def json_get(self, sql: Sql, column: str, path: tuple[str, ...]) -> str:
        raise NotImplementedError

    def json_compare(self, sql: Sql, left: str, op: str, value: Any) -> str:
        raise NotImplementedError

    def json_number(self, expr: str) -> str:
        raise NotImplementedError

    def json_text(self, expr: str) -> str:
        raise NotImplementedError

    def date_part(self, part: str, micros: str) -> str:
        raise NotImplementedError

    def date_text(self, micros: str, clock: bool) -> str:
        raise NotImplementedError

    def divide(self, a: str, b: str) -> str:
        raise NotImplementedError

    def modulo(self, a: str, b: str) -> str:
        raise NotImplementedError

    def rounding(self, fn: str, a: str) -> str:
        raise NotImplementedError

    def instr(self, haystack: str, needle: str) -> str:
        raise NotImplementedError

    def geo(self, fn: str, args: list[str]) -> str:
        raise NotImplementedError

    def least(self, *args: str) -> str:
        raise NotImplementedError

    def greatest(self, *args: str) -> str:
        raise NotImplementedError

    def not_equal(self) -> str:
        raise NotImplementedError

    true = "1=1"
    false = "1=0"


class SqliteDialect(Dialect):
    name = "sqlite"
    union_chunk = 1  # in-process: one small statement per parent beats one big UNION
    id_column = "id INTEGER PRIMARY KEY"

    def placeholder(self, n: int, value: Any) -> str:
        return f"?{n}"

    def json_placeholder(self, n: int) -> str:
        return f"?{n}"

    def json_get(self, sql: Sql, column: str, path: tuple[str, ...]) -> str:
        steps = "".join(f"[{p}]" if p.isdigit() else '."' + p + '"' for p in path)
        return f"json_extract({column}, {sql.param('$' + steps)})"

    def json_compare(self, sql: Sql, left: str, op: str, value: Any) -> str:
        if isinstance(value, bool):
            value = int(value)
        return f"{left} {op} {sql.param(value)}"

    def json_number(self, expr: str) -> str:
        return expr

    def json_text(self, expr: str) -> str:
        return expr

    def date_part(self, part: str, micros: str) -> str:
        if part == "fractionalseconds":
            return f"(({micros}) % 1000000) / 1000000.0"
        return (
            f"CAST(strftime('{DATE_FORMATS[part]}', ({micros}) / 1000000, 'unixepoch') AS INTEGER)"
        )

    def date_text(self, micros: str, clock: bool) -> str:
        fmt = "%H:%M:%S" if clock else "%Y-%m-%d"
        return f"strftime('{fmt}', ({micros}) / 1000000, 'unixepoch')"

    def divide(self, a: str, b: str) -> str:
        return f"(CAST({a} AS REAL) / ({b}))"

    def modulo(self, a: str, b: str) -> str:
        return f"tb_mod({a}, {b})"

    def rounding(self, fn: str, a: str) -> str:
        return {"round": f"round({a})", "floor": f"tb_floor({a})", "ceiling": f"tb_ceil({a})"}[fn]

    def instr(self, haystack: str, needle: str) -> str:
        return f"instr({haystack}, {needle})"

    def geo(self, fn: str, args: list[str]) -> str:
        return f"tb_{fn}({', '.join(args)})"

    def least(self, *args: str) -> str:
        return f"MIN({', '.join(args)})"

    def greatest(self, *args: str) -> str:
        return f"MAX({', '.join(args)})"

    def not_equal(self) -> str:
        return "IS NOT"


_PG_TYPES = {bool: "boolean", int: "bigint", float: "float8", str: "text"}


class PostgresDialect(Dialect):
    name = "postgres"
    union_chunk = 200  # one round trip for up to 200 parents
    json_type = "jsonb"
    id_column = "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    real = "double precision"
    true = "TRUE"
    false = "FALSE"

    def placeholder(self, n: int, value: Any) -> str:
        pg_type = _PG_TYPES.get(type(value))
        if isinstance(value, list):
            return f"${n}::text[]"
        return f"${n}::{pg_type}" if pg_type else f"${n}"

    def json_placeholder(self, n: int) -> str:
        return f"${n}::jsonb"

    def json_get(self, sql: Sql, column: str, path: tuple[str, ...]) -> str:
        if not path:
            return column
        return f"({column} #> {sql.param(list(path))})"

    def json_compare(self, sql: Sql, left: str, op: str, value: Any) -> str:
        return f"{left} {op} to_jsonb({sql.param(value)})"

    def json_number(self, expr: str) -> str:
        return f"(CASE WHEN jsonb_typeof({expr}) = 'number' THEN ({expr} #>> '{{}}')::float8 END)"

    def json_text(self, expr: str) -> str:
        return f"({expr} #>> '{{}}')"

    def date_part(self, part: str, micros: str) -> str:
        stamp = f"(to_timestamp(({micros}) / 1000000.0) AT TIME ZONE 'UTC')"
        if part == "fractionalseconds":
            return f"((({micros}) % 1000000) / 1000000.0)"
        if part == "second":
            return f"floor(EXTRACT(SECOND FROM {stamp}))::int"
        return f"EXTRACT({part.upper()} FROM {stamp})::int"

    def date_text(self, micros: str, clock: bool) -> str:
        fmt = "HH24:MI:SS" if clock else "YYYY-MM-DD"
        return f"to_char(to_timestamp(({micros}) / 1000000.0) AT TIME ZONE 'UTC', '{fmt}')"

    def divide(self, a: str, b: str) -> str:
        return f"(({a})::float8 / NULLIF(({b})::float8, 0))"

    def modulo(self, a: str, b: str) -> str:
        return f"mod(({a})::numeric, NULLIF(({b})::numeric, 0))"

    def rounding(self, fn: str, a: str) -> str:
        return {"round": f"round(({a})::numeric)", "floor": f"floor({a})", "ceiling": f"ceil({a})"}[
            fn
        ]

    def instr(self, haystack: str, needle: str) -> str:
        return f"strpos({haystack}, {needle})"

    def geo(self, fn: str, args: list[str]) -> str:
        geoms = [f"tb_geom({a})" for a in args[:2]]
        if fn == "length":
            return f"ST_Length({geoms[0]})"
        if fn == "distance":
            return f"ST_Distance({geoms[0]}, {geoms[1]})"
        if fn == "relate":
            return f"ST_Relate({geoms[0]}, {geoms[1]}, {args[2]})"
        return f"ST_{fn.capitalize()}({geoms[0]}, {geoms[1]})"

    def least(self, *args: str) -> str:
        return f"LEAST({', '.join(args)})"

    def greatest(self, *args: str) -> str:
        return f"GREATEST({', '.join(args)})"

    def not_equal(self) -> str:
        return "IS DISTINCT FROM"


SQLITE = SqliteDialect()
POSTGRES = PostgresDialect()
