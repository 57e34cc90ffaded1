"""NGSI-v2's Simple Query Language (`q` and `mq`) as Orion's manual states it.

A query is statements joined by `;` (AND only). A statement is unary (`attr`, `!attr`:
the target property exists / does not) or binary: an attribute path, an operator among
`==` (or `:`), `!=`, `>`, `>=`, `<`, `<=`, `~=`, and a value. For `==`/`!=` the value may
be a comma list (any of / none of) or a range `a..b` (both ends included). Paths are
tokens joined by `.`; a token with a dot is quoted (`'a.b'.c`). In `q` the first token is
the attribute and the rest walk into its value; in `mq` the second token is a metadata
name of that attribute.

Values are typed as Orion types them, never coerced: `'20'` is a string; unquoted `20` a
number (equality also matches the string "20"), `true`/`false` booleans, an ISO 8601
instant a date (it matches only attributes of type DateTime), anything else a string.
`~=` is a regular-expression search on string values. Orion's forbidden characters
(`<>"'=;()`) in a value, or a malformed statement, are a 400 BadRequest (`QueryError`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

OPERATORS = ("==", "!=", ">=", "<=", "~=", ">", "<", ":")
FORBIDDEN = set("<>\"'=;()")
MISSING: Any = object()


class QueryError(ValueError):
    """A `q`/`mq` Orion would refuse (400 BadRequest)."""


@dataclass(frozen=True)
class Value:
    kind: str  # number, string, boolean, date
    value: Any  # float, str, bool, or a date as epoch seconds
    text: str  # as written (an unquoted number also equals this string)


@dataclass(frozen=True)
class Statement:
    path: tuple[str, ...]
    op: str  # exists, absent, ==, !=, >, >=, <, <=, ~=
    values: tuple[Value, ...] = ()  # one, or a list for == / !=
    low: Value | None = None  # a range for == / !=
    high: Value | None = None
    pattern: re.Pattern[str] | None = None


def parse_datetime(text: str) -> float | None:
    """An ISO 8601 date or instant as epoch seconds (naive: UTC), None when it is none."""
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found.timestamp()


def _value(text: str) -> Value:
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        inner = text[1:-1]
        if "'" in inner:
            raise QueryError(f"invalid character in value: {text[:60]}")
        return Value("string", inner, inner)
    if not text:
        raise QueryError("empty right-hand-side in q")
    if FORBIDDEN & set(text):
        raise QueryError(f"invalid character in value: {text[:60]}")
    if text in ("true", "false"):
        return Value("boolean", text == "true", text)
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if math.isfinite(number) and not text.lower().startswith(("inf", "nan", "+inf", "-inf")):
        return Value("number", number, text)
    stamp = parse_datetime(text)
    if stamp is not None:
        return Value("date", stamp, text)
    return Value("string", text, text)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted, i = [], [], False, 0
    while i < len(text):
        if text[i] == "'":
            quoted = not quoted
        if not quoted and text.startswith(sep, i):
            parts.append("".join(current))
            current, i = [], i + len(sep)
            continue
        current.append(text[i])
        i += 1
    if quoted:
        raise QueryError(f"unterminated quote in: {text[:60]}")
    parts.append("".join(current))
    return parts


def _path(text: str) -> tuple[str, ...]:
    tokens = tuple(
        t[1:-1] if len(t) >= 2 and t[0] == t[-1] == "'" else t
        for t in _split_outside_quotes(text, ".")
    )
    if not text or any(not t or FORBIDDEN & set(t) or " " in t for t in tokens):
        raise QueryError(f"invalid attribute path: {text[:60]}")
    return tokens


def _find_operator(statement: str) -> tuple[int, str] | None:
    quoted = False
    for i, c in enumerate(statement):
        if c == "'":
            quoted = not quoted
            continue
        if quoted:
            continue
        for op in OPERATORS:
            if statement.startswith(op, i):
                return i, op
    return None


def parse_statement(statement: str) -> Statement:
    found = _find_operator(statement)
    if found is None:
        if statement.startswith("!"):
            return Statement(_path(statement[1:]), "absent")
        return Statement(_path(statement), "exists")
    at, op = found
    path, rhs = _path(statement[:at]), statement[at + len(op) :]
    op = "==" if op == ":" else op
    if op == "~=":
        if not rhs or FORBIDDEN & set(rhs):
            raise QueryError(f"invalid pattern in q: {rhs[:60]}")
        try:
            return Statement(path, op, pattern=re.compile(rhs))
        except re.error as e:
            raise QueryError(f"invalid regular expression: {e}") from None
    if op in ("==", "!="):
        items = _split_outside_quotes(rhs, ",")
        if len(items) == 1:
            ends = _split_outside_quotes(rhs, "..")
            if len(ends) == 2:
                low, high = _value(ends[0]), _value(ends[1])
                if low.kind != high.kind or low.kind == "boolean":
                    raise QueryError(f"invalid range: {rhs[:60]}")
                return Statement(path, op, low=low, high=high)
        return Statement(path, op, tuple(_value(item) for item in items))
    return Statement(path, op, (_value(rhs),))


def parse(q: str) -> tuple[Statement, ...]:
    """A `q`/`mq` string as statements (AND); QueryError when Orion would refuse it."""
    if not q.strip():
        raise QueryError("empty q")
    return tuple(parse_statement(s) for s in q.split(";") if s != "")


# --- evaluation --------------------------------------------------------------------------


def _typed(value: Any, is_date: bool) -> tuple[str, Any] | None:
    if is_date and isinstance(value, str):
        stamp = parse_datetime(value)
        return None if stamp is None else ("date", stamp)
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, str):
        return ("string", value)
    return None


def _equals(target: Any, value: Value, is_date: bool) -> bool:
    if isinstance(target, list):
        return any(_equals(item, value, False) for item in target)
    typed = _typed(target, is_date)
    if typed is None:
        return False
    if typed == (value.kind, value.value):
        return True
    return value.kind == "number" and typed == ("string", value.text)


def _compare(target: Any, value: Value, is_date: bool) -> int | None:
    typed = _typed(target, is_date)
    if typed is None or typed[0] != value.kind or value.kind == "boolean":
        return None
    return (typed[1] > value.value) - (typed[1] < value.value)


def _in_range(target: Any, st: Statement, is_date: bool) -> bool:
    if isinstance(target, list):
        return any(_in_range(item, st, False) for item in target)
    assert st.low is not None and st.high is not None
    low, high = _compare(target, st.low, is_date), _compare(target, st.high, is_date)
    return low is not None and high is not None and low >= 0 and high <= 0


def holds(st: Statement, target: Any, is_date: bool) -> bool:
    """Whether a statement holds for its target property value (MISSING: not there)."""
    if st.op == "exists":
        return target is not MISSING
    if st.op == "absent":
        return target is MISSING
    if target is MISSING:
        return False
    if st.op == "~=":
        assert st.pattern is not None
        return isinstance(target, str) and st.pattern.search(target) is not None
    if st.op in ("==", "!="):
        if st.low is not None:
            found = _in_range(target, st, is_date)
        else:
            found = any(_equals(target, v, is_date) for v in st.values)
        return found if st.op == "==" else not found
    order = _compare(target, st.values[0], is_date)
    if order is None:
        return False
    return {">": order > 0, ">=": order >= 0, "<": order < 0, "<=": order <= 0}[st.op]


def walk(value: Any, path: tuple[str, ...]) -> Any:
    for token in path:
        if not isinstance(value, dict) or token not in value:
            return MISSING
        value = value[token]
    return value


__all__ = [
    "MISSING",
    "QueryError",
    "Statement",
    "Value",
    "holds",
    "parse",
    "parse_datetime",
    "parse_statement",
    "walk",
]
