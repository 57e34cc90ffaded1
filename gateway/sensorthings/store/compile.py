"""The OData expression tree compiled to SQL with bound parameters.

A *leaf* is a comparison, an `in`, or a boolean function. When a leaf reaches through
relations (`Datastreams/properties/layerName eq 'x'`), it becomes
`EXISTS (SELECT 1 FROM <the joined relations> WHERE <join conditions> AND <leaf>)`, which
is OData's "any" semantics for to-many paths and exact for to-one paths. Lambdas
(`Datastreams/any(d: …)`, `all`) compile to EXISTS / NOT EXISTS the same way.

Literals are bound only where they are used (`Compiler.s`), so no stray parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gateway.errors import InvalidParameter
from gateway.sensorthings.model import EntityType
from gateway.sensorthings.odata.ast import (
    ARITHMETIC,
    COMPARISONS,
    Binary,
    Call,
    In,
    Lambda,
    Literal,
    Node,
    Path,
    Unary,
    operands,
)
from gateway.sensorthings.odata.bind import resolve
from gateway.sensorthings.store.dialect import Sql
from gateway.sensorthings.store.joins import Leaf
from gateway.sensorthings.timefmt import micros

OPS = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
GROUP = 100  # terms per flat run of AND/OR in the SQL (see `grouped`)
MIRROR = {"eq": "eq", "ne": "ne", "gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}


@dataclass(frozen=True)
class Expr:
    sql: str
    kind: str  # number string bool time duration geo json result null date clock
    end: str | None = None  # time: the end of the interval (== sql for instants)
    value: Any = None  # literals: the value to bind
    end_value: Any = None
    literal: bool = False
    not_null: bool = False
    render: Callable[[bool], str] | None = None  # deferred SQL (start or end), bound on use


def grouped(parts: list[str], op: str) -> str:
    """`(a OR b OR …)` for a run of any length: flat in groups of GROUP, the groups nested.
    SQLite's parser nests a flat run as deep as it is long (its limit: 1000) and its parser
    stack is short (about 50 parentheses), so neither a long run nor deep nesting fits."""
    while len(parts) > GROUP:
        parts = [
            "(" + f" {op} ".join(parts[i : i + GROUP]) + ")" for i in range(0, len(parts), GROUP)
        ]
    return "(" + f" {op} ".join(parts) + ")"


def literal_expr(kind: str, value: Any, end_value: Any = None) -> Expr:
    return Expr("", kind, value=value, end_value=end_value, literal=True)


class Compiler:
    def __init__(self, sql: Sql, etype: EntityType, alias: str, option: str = "$filter") -> None:
        self.sql = sql
        self.d = sql.dialect
        self.root = (alias, etype)
        self.option = option
        self.counter = itertools.count(1)
        self.leaf: Leaf | None = None
        self.vars: dict[str, tuple[str, EntityType]] = {}
        self.now = micros(datetime.now(UTC))

    def fail(self, node: Node | None, message: str) -> InvalidParameter:
        where = f" (at position {node.pos})" if node is not None else ""
        return InvalidParameter(self.option, message + where)

    def alias(self) -> str:
        return f"{self.root[0]}_{next(self.counter)}"

    def s(self, e: Expr) -> str:
        """SQL text of an expression, binding a literal's value here."""
        if e.render is not None:
            return e.render(False)
        if not e.literal:
            return e.sql
        if e.kind == "geo":
            return self.sql.json_param(e.value)
        return self.sql.param(e.value)

    def s_end(self, e: Expr) -> str:
        if e.render is not None:
            return e.render(True)
        if e.literal:
            return self.sql.param(e.end_value if e.end_value is not None else e.value)
        return e.end or e.sql

    # -- conditions -------------------------------------------------------------------
    def boolean(self, node: Node) -> str:
        if isinstance(node, Binary) and node.op in ("and", "or"):
            parts = [self.boolean(child) for child in operands(node, node.op)]
            return grouped(parts, node.op.upper())
        if isinstance(node, Unary) and node.op == "not":
            return f"(NOT {self.boolean(node.operand)})"
        if isinstance(node, Lambda):
            return self.lambda_(node)
        if isinstance(node, Literal) and node.kind == "bool":
            return self.d.true if node.value else self.d.false
        outer, self.leaf = self.leaf, Leaf(self)
        try:
            cond = self.leaf_condition(node)
            return self.leaf.exists(cond)
        finally:
            self.leaf = outer

    def leaf_condition(self, node: Node) -> str:
        if isinstance(node, Binary) and node.op in COMPARISONS:
            return self.compare(node, node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, In):
            operand = self.value(node.operand)
            parts = [self.compare(node, "eq", operand, self.value(item)) for item in node.items]
            return grouped(parts, "OR")
        e = self.value(node)
        if e.kind == "bool":
            return self.s(e)
        if e.kind == "json":
            return self.d.json_compare(self.sql, e.sql, "=", True)
        raise self.fail(node, "this expression is not a condition")

    def lambda_(self, node: Lambda) -> str:
        base, etype, segments = self.base(node.path)
        resolved = resolve(etype, segments, self.option)
        leaf = Leaf(self)
        end = leaf.join(base, resolved.chain)
        body = self.d.true
        if node.body is not None and node.var is not None:
            outer = self.vars.get(node.var)  # an inner lambda may reuse the name
            self.vars[node.var] = (end, resolved.type)
            try:
                body = self.boolean(node.body)
            finally:
                if outer is None:
                    del self.vars[node.var]
                else:
                    self.vars[node.var] = outer
        if node.op == "any":
            return leaf.exists(body)
        return f"NOT {leaf.exists(f'NOT ({body})')}"

    # -- values -----------------------------------------------------------------------
    def base(self, path: Path) -> tuple[str, EntityType, tuple[str, ...]]:
        first = path.segments[0]
        if first in self.vars:
            alias, etype = self.vars[first]
            return alias, etype, path.segments[1:]
        alias, etype = self.root
        return alias, etype, path.segments

    def value(self, node: Node) -> Expr:
        if isinstance(node, Literal):
            return self.literal(node)
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, Unary) and node.op == "-":
            inner = self.value(node.operand)
            if inner.kind == "duration":
                return Expr(f"(-{self.s(inner)})", "duration")
            return Expr(f"(-{self.numeric(node, inner)})", "number")
        if isinstance(node, Binary) and node.op in ARITHMETIC:
            return self.arithmetic(node, self.value(node.left), self.value(node.right))
        if isinstance(node, Call):
            from gateway.sensorthings.store.calls import call

            return call(self, node)
        raise self.fail(node, "a condition cannot be used as a value here")

    def literal(self, node: Literal) -> Expr:
        kind, value = node.kind, node.value
        if kind == "datetime":
            return literal_expr("time", micros(value))
        if kind == "interval":
            return literal_expr("time", micros(value[0]), micros(value[1]))
        if kind == "date":
            return literal_expr("date", value.isoformat())
        if kind == "time":
            return literal_expr("clock", value.isoformat())
        if kind == "duration":
            return literal_expr("duration", round(value.total_seconds() * 1_000_000))
        if kind == "geometry":
            from gateway.sensorthings.geo import wkt_to_geojson

            return literal_expr("geo", wkt_to_geojson(value))
        return literal_expr(kind, value)

    def path(self, node: Path) -> Expr:
        alias, etype, segments = self.base(node)
        if not segments:
            raise self.fail(node, f"'{node.segments[0]}' alone is not a value")
        resolved = resolve(etype, segments, self.option)
        if resolved.chain:
            if self.leaf is None:
                raise self.fail(node, "related entities cannot be used here")
            alias = self.leaf.join(alias, resolved.chain)
        if resolved.is_id:
            return Expr(f"{alias}.id", "number", not_null=True)
        prop = resolved.prop
        if prop is None:
            raise self.fail(node, f"'{'/'.join(segments)}' is a relation, not a value")
        cols = [f"{alias}.{c}" for c in prop.columns]
        if prop.kind == "text":
            return Expr(cols[0], "string")
        if prop.kind == "geo" and not resolved.json_path:
            return Expr(cols[0], "geo")
        if prop.kind in ("json", "geo"):
            return Expr(self.d.json_get(self.sql, cols[0], resolved.json_path), "json")
        if prop.kind in ("time", "interval"):
            return Expr(cols[0], "time", end=cols[-1], not_null=prop.not_null)
        return Expr(alias, "result")  # the alias owns result_json/_number/_string

    def numeric(self, node: Node, e: Expr) -> str:
        if e.kind == "number":
            return self.s(e)
        if e.kind == "result":
            return f"{e.sql}.result_number"
        if e.kind == "json":
            return self.d.json_number(e.sql)
        raise self.fail(node, f"expected a number, not a {e.kind} value")

    def text(self, node: Node, e: Expr) -> str:
        if e.kind in ("string", "date", "clock"):
            return self.s(e)
        if e.kind == "result":
            return f"{e.sql}.result_string"
        if e.kind == "json":
            return self.d.json_text(e.sql)
        raise self.fail(node, f"expected a string, not a {e.kind} value")

    def arithmetic(self, node: Binary, a: Expr, b: Expr) -> Expr:
        op = node.op
        if a.kind == "time" and b.kind == "duration" and op in ("add", "sub"):
            sign = "+" if op == "add" else "-"

            def shifted(end: bool) -> str:
                return f"({self.s_end(a) if end else self.s(a)} {sign} {self.s(b)})"

            return Expr("", "time", render=shifted)
        if a.kind == "duration" and b.kind == "time" and op == "add":
            return self.arithmetic(replace(node, left=node.right, right=node.left), b, a)
        if a.kind == "time" and b.kind == "time" and op == "sub":
            return Expr(f"({self.s(a)} - {self.s(b)})", "duration")
        if a.kind == "duration" and b.kind == "duration" and op in ("add", "sub"):
            return Expr(f"({self.s(a)} {'+' if op == 'add' else '-'} {self.s(b)})", "duration")
        x, y = self.numeric(node, a), self.numeric(node, b)
        if op == "div":
            return Expr(self.d.divide(x, y), "number")
        if op == "mod":
            return Expr(self.d.modulo(x, y), "number")
        return Expr(f"({x} {dict(add='+', sub='-', mul='*')[op]} {y})", "number")

    # -- comparisons ------------------------------------------------------------------
    def op(self, op: str) -> str:
        return self.d.not_equal() if op == "ne" else OPS[op]

    def compare(self, node: Node, op: str, a: Expr, b: Expr) -> str:
        if a.kind in ("null", "result", "json") and b.kind not in ("null", "result", "json"):
            a, b, op = b, a, MIRROR[op]
        if b.kind == "null" or a.kind == "null":
            return self.compare_null(node, op, a if b.kind == "null" else b)
        if "time" in (a.kind, b.kind):
            return self.compare_time(node, op, self.as_time(node, a), self.as_time(node, b))
        if b.kind == "result":
            return self.compare_result(node, MIRROR[op], b, a)
        if b.kind == "json":
            return self.compare_json(node, MIRROR[op], b, a)
        if "geo" in (a.kind, b.kind):
            raise self.fail(node, "geometries cannot be compared; use a geo function")
        a, b = self.coerce(a, b), self.coerce(b, a)
        if a.kind != b.kind and (a.literal or b.literal) and "bool" not in (a.kind, b.kind):
            raise self.fail(node, f"a {a.kind} value cannot be compared with a {b.kind} value")
        return f"{self.s(a)} {self.op(op)} {self.s(b)}"

    def coerce(self, e: Expr, other: Expr) -> Expr:
        """A literal made the type of the column it meets (`name eq 3`, `id eq '3'`)."""
        if not e.literal or other.literal or e.kind == other.kind:
            return e
        if other.kind in ("string", "date", "clock") and e.kind in ("number", "bool"):
            return replace(e, kind=other.kind, value=str(e.value).lower())
        if other.kind == "number" and e.kind == "string":
            try:
                number = float(e.value)
            except ValueError:
                return e
            return replace(e, kind="number", value=int(number) if number.is_integer() else number)
        return e

    def compare_null(self, node: Node, op: str, e: Expr) -> str:
        if op not in ("eq", "ne"):
            raise self.fail(node, "null can only be compared with eq or ne")
        if e.kind == "null":
            return self.d.true if op == "eq" else self.d.false
        column = f"{e.sql}.result_json" if e.kind == "result" else self.s(e)
        return f"{column} IS {'' if op == 'eq' else 'NOT '}NULL"

    def as_time(self, node: Node, e: Expr) -> Expr:
        if e.kind == "time":
            return e
        if e.literal and e.kind in ("string", "date"):
            try:
                value = datetime.fromisoformat(str(e.value).replace("Z", "+00:00"))
            except ValueError:
                raise self.fail(node, f"'{e.value}' is not a date-time") from None
            return literal_expr("time", micros(value))
        raise self.fail(node, f"a time cannot be compared with a {e.kind} value")

    @staticmethod
    def _instant(e: Expr) -> bool:
        if e.literal:
            return e.end_value is None or e.end_value == e.value
        return e.render is None and e.end in (None, e.sql)

    def compare_time(self, node: Node, op: str, a: Expr, b: Expr) -> str:
        if self._instant(a) and self._instant(b):
            return f"{self.s(a)} {self.op(op)} {self.s(b)}"
        if op == "gt":
            return f"{self.s(a)} > {self.s_end(b)}"
        if op == "ge":
            return f"{self.s(a)} >= {self.s_end(b)}"
        if op == "lt":  # the start test lets an index on the start help
            return f"({self.s(a)} < {self.s(b)} AND {self.s_end(a)} < {self.s(b)})"
        if op == "le":
            return f"({self.s(a)} <= {self.s(b)} AND {self.s_end(a)} <= {self.s(b)})"
        same = f"({self.s(a)} = {self.s(b)} AND {self.s_end(a)} = {self.s_end(b)})"
        return same if op == "eq" else f"(NOT {same})"

    def compare_result(self, node: Node, op: str, result: Expr, other: Expr) -> str:
        alias = result.sql
        if other.kind == "bool":
            other = replace(other, kind="string", value="true" if other.value else "false")
        if other.kind in ("string", "date", "clock"):
            return f"{alias}.result_string {self.op(op)} {self.text(node, other)}"
        if other.kind in ("number", "json", "result"):
            return f"{alias}.result_number {self.op(op)} {self.numeric(node, other)}"
        raise self.fail(node, f"a result cannot be compared with a {other.kind} value")

    def compare_json(self, node: Node, op: str, json: Expr, other: Expr) -> str:
        if other.literal and other.kind in ("string", "number", "bool"):
            return self.d.json_compare(self.sql, json.sql, self.op(op), other.value)
        if other.kind == "json":
            return f"{json.sql} {self.op(op)} {other.sql}"
        if other.kind in ("number", "result"):
            return f"{self.d.json_number(json.sql)} {self.op(op)} {self.numeric(node, other)}"
        if other.kind in ("string", "date", "clock"):
            return f"{self.d.json_text(json.sql)} {self.op(op)} {self.s(other)}"
        raise self.fail(node, f"a JSON member cannot be compared with a {other.kind} value")
