"""Comparisons as SQL, exactly as the gateway compares (the base of sqlfilter's compiler).

- Strings by code point: COLLATE BINARY in SQLite; COLLATE "C" in PostgreSQL for ordering
  (equality keeps the column's deterministic collation, so a btree index serves it).
- A number literal is restated in the values the other side holds (connectors/bounds.py):
  integer columns in PostgreSQL against fractions and literals beyond bigint, doubles
  against integers no double holds. SQLite compares integers with reals exactly and needs
  that only beyond int64. Two number literals are compared here, by Python, exactly.
- A null literal (arithmetic folded to null, such as 2^2000) is unknown for every row.
- A comparison the same for every non-null value becomes a constant by polarity (see
  `constant`), which PostgreSQL's planner folds instead of reading the table.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from connectors.bounds import INT64_MAX, INT64_MIN, restate
from connectors.filters import COMPARISON, Expr, Literal, Property, Unsupported

COLLATE = {"sqlite": " COLLATE BINARY", "postgis": ' COLLATE "C"'}
_ORDERING = frozenset({"<", "<=", ">", ">=", "between"})
_SWAP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
_PYTHON = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le}
_PYTHON |= {">": operator.gt, ">=": operator.ge}


class Comparisons:
    """=, <>, <, <=, >, >=, BETWEEN and IN; the compiler supplies values and parameters."""

    dialect: str
    pg: bool
    types: Mapping[str, str]  # property -> FieldType
    negated: bool  # under an odd number of NOTs (see constant)
    params: list[Any]

    def value(self, expr: Expr) -> tuple[str, str]:
        raise NotImplementedError

    def param(self, value: Any, cast: str = "") -> str:
        raise NotImplementedError

    def compare(self, op: str, args: tuple[Expr, ...]) -> str:
        if op == "between":
            return self._between(*args)
        if op == "in":
            return self._in(args[0], args[1:])
        if op not in COMPARISON:
            raise Unsupported(op)
        return self._binary(op, *args)

    def _binary(self, op: str, a: Expr, b: Expr) -> str:
        if is_null(a) or is_null(b):
            return "NULL"  # unknown for every row, as the evaluator says
        if is_number(a) and is_number(b):  # Python compares numbers exactly
            return "TRUE" if _PYTHON[op](a.value, b.value) else "FALSE"  # type: ignore[union-attr]
        if is_number(b) and not isinstance(a, Literal):
            return self._against(op, a, b.value)  # type: ignore[union-attr]
        if is_number(a) and not isinstance(b, Literal):
            return self._against(_SWAP[op], b, a.value)  # type: ignore[union-attr]
        (first, kind), (second, other) = self.value(a), self.value(b)
        if kind != other:
            raise Unsupported(op, "operands of different types")
        if kind == "string" and (op in _ORDERING or not self.pg):
            first += COLLATE[self.dialect]  # code points, as the gateway compares
        return f"({first} {op} {second})"

    def _between(self, value: Expr, low: Expr, high: Expr) -> str:
        if any(is_number(e) or is_null(e) for e in (value, low, high)):
            # the same three-valued AND, with each bound restated in the value's domain
            return f"({self._binary('>=', value, low)} AND {self._binary('<=', value, high)})"
        (sql, kind), *bounds = (self.value(a) for a in (value, low, high))
        if any(k != kind for _, k in bounds):
            raise Unsupported("between", "operands of different types")
        if kind == "string":
            sql += COLLATE[self.dialect]
        return f"({sql} BETWEEN {bounds[0][0]} AND {bounds[1][0]})"

    def _against(self, op: str, expr: Expr, value: int | float) -> str:
        """`expr op value` for a number expression and a number literal."""
        mark = len(self.params)
        sql, kind = self.value(expr)
        if kind != "number":
            raise Unsupported(op, "operands of different types")
        found = self._restated(op, expr, value)
        if isinstance(found, bool):
            return self.constant(sql, found, bound=len(self.params) > mark)
        return f"({sql} {found[0]} {found[1]})"

    def _restated(self, op: str, expr: Expr, value: int | float) -> bool | tuple[str, str]:
        """The comparison in values `expr` holds (connectors/bounds.py): a constant outcome
        for non-null values, or (operator, bound parameter)."""
        if not self.pg and isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
            return op, self.param(value)  # SQLite compares integers with reals exactly
        integer = self.pg and isinstance(expr, Property) and self.types.get(expr.name) == "integer"
        found = restate(op, value, "integer" if integer else "double")
        if isinstance(found, bool):
            return found
        op, bound = found
        if isinstance(value, int) and bound == value and INT64_MIN <= value <= INT64_MAX:
            bound = value  # exactly a double: bigint, which a numeric column compares exactly
        if self.pg:
            return op, self.param(bound, "::bigint" if isinstance(bound, int) else "::float8")
        return op, self.param(bound)

    def constant(self, sql: str, outcome: bool, *, bound: bool = False) -> str:
        """The same outcome for every non-null value of `sql` (null: unknown). WHERE keeps
        only true, and AND, OR and NOT are monotone, so unknown may become false where no
        NOT is above (true where one is): `x > 1e23` on an integer column is `FALSE`, and
        `x <> 1e23` is `x IS NOT NULL`, which the planner and an index can use. `bound`:
        `sql` holds parameters, which must stay in the statement (the planner folds the
        `AND FALSE` away)."""
        if outcome is self.negated:
            if bound:
                return f"({sql} IS NULL {'OR TRUE' if outcome else 'AND FALSE'})"
            return "TRUE" if outcome else "FALSE"
        return f"({sql} IS NULL)" if self.negated else f"({sql} IS NOT NULL)"

    def _in(self, needle: Expr, items: tuple[Expr, ...]) -> str:
        """IN keeps its list (an index serves it); items no value can equal leave it, a null
        item makes a miss unknown."""
        if is_null(needle):
            return "NULL"
        if is_number(needle):  # each item compared with the literal, restated against it
            return f"({' OR '.join(self._binary('=', needle, item) for item in items)})"
        mark = len(self.params)
        sql, kind = self.value(needle)
        bound = len(self.params) > mark
        listed: list[str] = []
        nulls = False
        for item in items:
            if is_null(item):
                nulls = True
            elif kind == "number" and is_number(item) and not isinstance(needle, Literal):
                found = self._restated("=", needle, item.value)  # type: ignore[union-attr]
                if not isinstance(found, bool):
                    listed.append(found[1])
            else:
                item_sql, item_kind = self.value(item)
                if item_kind != kind:
                    raise Unsupported("in", "operands of different types")
                listed.append(item_sql)
        if kind == "string" and not self.pg:
            sql += COLLATE[self.dialect]
        missed = self.constant(sql, False, bound=bound)
        parts = [f"{sql} IN ({', '.join(listed)})" if listed else missed]
        return f"({' OR '.join([*parts, 'NULL'] if nulls else parts)})"


def is_null(expr: Expr) -> bool:
    return isinstance(expr, Literal) and expr.value is None


def is_number(expr: Expr) -> bool:
    return isinstance(expr, Literal) and type(expr.value) in (int, float)


__all__ = ["COLLATE", "INT64_MAX", "INT64_MIN", "Comparisons", "is_null", "is_number"]
