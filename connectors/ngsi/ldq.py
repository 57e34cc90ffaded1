"""Filter AST (connectors/filters.py) -> NGSI-LD `q` (ETSI GS CIM 009 4.9), only where the
broker answers exactly as the gateway would; everything else raises Unsupported and stays a
residual the gateway evaluates.

What goes, and why it is exact:
- `and`/`or` as `;`/`|`, each operand in parentheses (AND binds tighter than OR anyway).
- `=`, `<>`, `<`, `<=`, `>`, `>=` on a field against a string, number or boolean literal:
  strings double-quoted with `\\"` and `\\\\` escapes (never coerced), numbers as JSON
  numbers. `<>` is `!=`, which needs the attribute to exist: the gateway's three-valued
  logic drops a missing value too, and without NOT the two logics agree.
- `in` as `a==v1,v2`, `between` as `a==lo..hi` (both ends inclusive, as in CQL2).
- `isNull(a)` as `!a`, `not isNull(a)` as `a` (an NGSI-LD attribute has no null value).
- `like` only when the pattern ends with `%` (a prefix or contains search): as the regex
  `^literal[\\s\\S]*…` with `~=`, which needs no end anchor, so no regex dialect's `$`
  (which matches before a final newline) can differ.
Not pushed: `not` otherwise, dates and times (the broker reads an unquoted ISO value as a
date-time, the gateway may hold the same value as text), spatial and temporal operators
(bbox goes as a georel, see ld.py), case- and accent-insensitive comparisons, arithmetic,
and fields whose values are lists (`a==1` matches a list holding 1 at the broker).

Exact for values of a field's own type (connectors/ngsi/ld.py learns it from a sample):
where one entity holds another type (a list among numbers, a number among strings), the
broker compares a list item by item and `!=` across types as true, the gateway does neither;
such an entity may then be selected when pushed and not when evaluated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from connectors.filters import Call, Expr, Literal, Property, Unsupported
from connectors.like import like_tokens

_COMPARE = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def to_q(expr: Expr, paths: Mapping[str, str]) -> str:
    """The `q` for `expr`; `paths` maps each pushable field to its q attribute path."""
    if not isinstance(expr, Call):
        raise Unsupported(type(expr).__name__, "a bare value is no predicate")
    op, args = expr.op, expr.args
    if op in ("and", "or"):
        joiner = ";" if op == "and" else "|"
        return joiner.join(f"({to_q(arg, paths)})" for arg in args)
    if op == "not":
        inner = args[0]
        if isinstance(inner, Call) and inner.op == "isNull":
            return _path(inner.args[0], paths)
        raise Unsupported("not", "q has no negation")
    if op == "isNull":
        return "!" + _path(args[0], paths)
    if op in _COMPARE:
        name, value = _operands(args, paths)
        return f"{name}{_COMPARE[op]}{value}"
    if op == "in":
        name = _path(args[0], paths)
        if len(args) < 2:
            raise Unsupported("in", "an empty list")
        return name + "==" + ",".join(_value(a) for a in args[1:])
    if op == "between":
        name = _path(args[0], paths)
        return f"{name}=={_value(args[1])}..{_value(args[2])}"
    if op == "like":
        name = _path(args[0], paths)
        return f'{name}~="{_like(args[1])}"'
    raise Unsupported(op, "not expressible in NGSI-LD q")


def _operands(args: tuple[Expr, ...], paths: Mapping[str, str]) -> tuple[str, str]:
    left, right = args
    if not isinstance(left, Property) or not isinstance(right, Literal):
        raise Unsupported("comparison", "only a field against a literal")
    return _path(left, paths), _value(right)


def _path(expr: Expr, paths: Mapping[str, str]) -> str:
    if not isinstance(expr, Property) or expr.name not in paths:
        raise Unsupported("property", f"{getattr(expr, 'name', expr)!r} has no q path")
    return paths[expr.name]


def _value(expr: Expr) -> str:
    if not isinstance(expr, Literal):
        raise Unsupported("value", "only literals")
    value = expr.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unsupported("value", "not a finite number")
        return repr(value)
    if isinstance(value, str):
        return quote(value)
    raise Unsupported("value", f"{type(value).__name__} literals stay in the gateway")


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _like(expr: Expr) -> str:
    if not isinstance(expr, Literal) or not isinstance(expr.value, str):
        raise Unsupported("like", "only a literal pattern")
    tokens = like_tokens(expr.value)
    if not tokens or tokens[-1][0] != "any":
        raise Unsupported("like", "only prefix or contains patterns (ending with %)")
    parts = {"any": r"[\s\S]*", "one": r"[\s\S]"}
    regex = "^" + "".join(parts.get(kind) or re.escape(c) for kind, c in tokens)
    if '"' in regex:
        raise Unsupported("like", "a double quote in the pattern")
    return regex


__all__ = ["quote", "to_q"]
