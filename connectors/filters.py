"""The filter AST: what a CQL2 filter becomes, and what a connector receives.

CQL2 arrives as text or JSON and leaves as SQL, FES XML, an NGSI `q` or an in-process
predicate, so the gateway works on one small tree of its own: `Property`, `Literal`, `Call`.
The planner hands a connector this tree in the connector's *source* field names (inside
`SourceQuery.filter`), using only operators its capabilities name.

Conventions (the parser in gateway/query/cql2.py guarantees them):
- `Call.op` is the CQL2-JSON operator name (`and`, `=`, `like`, `s_intersects`, `t_metBy`…),
  plus two structural ones: `interval` (an INTERVAL with a non-literal end) and `array`
  (an array with non-literal items).
- `Property(GEOMETRY)` is the primary geometry, whatever the source column is called.
- Literal values: None (null; only from folded arithmetic such as `1/0`), bool, int, float,
  str, `date`, timezone-aware `datetime` (UTC), a shapely geometry (CRS84, 2D, valid,
  not empty), `TimeInterval` (None = open end `..`), or a tuple (an array).
- `in` is flat: `Call("in", (needle, item1, item2, …))`.
- In `Call("interval", (start, end))` an open end is `Literal(None)`.
- Arithmetic is binary; `s_dwithin` is `(geom, geom, Literal(metres))`.
- Temporal operands are spans: a date covers its whole day (see `start_of`, `end_of`), and
  every temporal operator is the endpoint formula in `TEMPORAL_RELATIONS`, which the
  in-process evaluator and the SQL compiler both read, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import shapely

from connectors.like import LikePattern, like_match, like_pattern, like_tokens

GEOMETRY = "geometry"

LOGICAL = frozenset({"and", "or", "not"})
COMPARISON = frozenset({"=", "<>", "<", "<=", ">", ">="})
ADVANCED = frozenset({"like", "between", "in", "isNull"})
INSENSITIVE = frozenset({"casei", "accenti"})
SPATIAL = frozenset(
    {
        "s_intersects",
        "s_equals",
        "s_disjoint",
        "s_touches",
        "s_within",
        "s_overlaps",
        "s_crosses",
        "s_contains",
        "s_dwithin",
    }
)
ARRAY = frozenset({"a_equals", "a_contains", "a_containedBy", "a_overlaps"})
ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "div", "^"})
STRUCTURAL = frozenset({"interval", "array"})

# Each temporal operator as CQL2 defines it on the endpoints of two closed spans
# [s1, e1] and [s2, e2]: (any_of, terms); a term is (left, comparison, right).
TEMPORAL_RELATIONS: dict[str, tuple[bool, tuple[tuple[str, str, str], ...]]] = {
    "t_after": (False, (("s1", ">", "e2"),)),
    "t_before": (False, (("e1", "<", "s2"),)),
    "t_contains": (False, (("s1", "<", "s2"), ("e1", ">", "e2"))),
    "t_disjoint": (True, (("s1", ">", "e2"), ("e1", "<", "s2"))),
    "t_during": (False, (("s1", ">", "s2"), ("e1", "<", "e2"))),
    "t_equals": (False, (("s1", "=", "s2"), ("e1", "=", "e2"))),
    "t_finishedBy": (False, (("s1", "<", "s2"), ("e1", "=", "e2"))),
    "t_finishes": (False, (("s1", ">", "s2"), ("e1", "=", "e2"))),
    "t_intersects": (False, (("s1", "<=", "e2"), ("e1", ">=", "s2"))),
    "t_meets": (False, (("e1", "=", "s2"),)),
    "t_metBy": (False, (("s1", "=", "e2"),)),
    "t_overlappedBy": (False, (("s1", ">", "s2"), ("s1", "<", "e2"), ("e1", ">", "e2"))),
    "t_overlaps": (False, (("s1", "<", "s2"), ("e1", ">", "s2"), ("e1", "<", "e2"))),
    "t_startedBy": (False, (("s1", "=", "s2"), ("e1", ">", "e2"))),
    "t_starts": (False, (("s1", "=", "s2"), ("e1", "<", "e2"))),
}
TEMPORAL = frozenset(TEMPORAL_RELATIONS)

PREDICATES = LOGICAL | COMPARISON | ADVANCED | SPATIAL | TEMPORAL | ARRAY
OPS = PREDICATES | INSENSITIVE | ARITHMETIC | STRUCTURAL

COMPARABLE = frozenset({"number", "string", "boolean", "date", "datetime"})
# The kinds of argument each operator takes (comparisons: any COMPARABLE, all alike).
ARGUMENT_KINDS: dict[str, frozenset[str]] = {"isNull": COMPARABLE | {"predicate", "geometry"}}
ARGUMENT_KINDS |= {op: frozenset({"predicate"}) for op in LOGICAL}
ARGUMENT_KINDS |= {op: frozenset({"geometry"}) for op in SPATIAL}
ARGUMENT_KINDS |= {"s_dwithin": frozenset({"geometry", "number"}), "array": COMPARABLE | {"array"}}
ARGUMENT_KINDS |= {op: frozenset({"date", "datetime", "interval"}) for op in TEMPORAL}
ARGUMENT_KINDS |= {op: frozenset({"string"}) for op in ("like", *INSENSITIVE)}
ARGUMENT_KINDS |= {op: frozenset({"array"}) for op in ARRAY}
ARGUMENT_KINDS |= {op: frozenset({"number"}) for op in ARITHMETIC}
_ALIKE = COMPARISON | {"between", "in"}
_RESULT_KINDS = {"casei": "string", "accenti": "string", "interval": "interval", "array": "array"}

# The ends of time as spans see them: an open end, and the end of the last representable day.
MIN_TIME = datetime.min.replace(tzinfo=UTC)
MAX_TIME = datetime.max.replace(tzinfo=UTC)
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


class Unsupported(Exception):  # noqa: N818 - the name says what it means to the planner
    """A target (SQL dialect, FES, NGSI…) cannot express this part exactly like the gateway."""

    def __init__(self, op: str, detail: str = "") -> None:
        super().__init__(f"{op}: {detail}" if detail else op)
        self.op = op


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """An INTERVAL literal; None is an open end (`..`)."""

    start: date | datetime | None
    end: date | datetime | None


@dataclass(frozen=True, slots=True)
class Property:
    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Call:
    op: str
    args: tuple[Expr, ...] = ()


Expr = Property | Literal | Call

_VALUE_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),
    ((int, float), "number"),
    (str, "string"),
    (datetime, "datetime"),
    (date, "date"),
    (TimeInterval, "interval"),
    ((tuple, list), "array"),
)


def start_of(value: date | datetime) -> datetime:
    """The first instant a temporal value covers: a date starts at midnight UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def end_of(value: date | datetime) -> datetime:
    """The last instant a temporal value covers: a date ends one microsecond before the
    next midnight, so spans stay closed intervals and one formula serves dates and instants."""
    if isinstance(value, datetime):
        return start_of(value)
    try:
        return start_of(value) + _DAY - _TICK
    except OverflowError:
        return MAX_TIME


def value_kind(value: Any) -> str | None:
    """The CQL2 type of a literal or property value: boolean, number, string, datetime, date,
    interval, array or geometry (None for null and anything else)."""
    for types, kind in _VALUE_KINDS:
        if isinstance(value, types):
            return kind
    return "geometry" if isinstance(value, shapely.Geometry) else None


def kind(expr: Expr, kinds: Mapping[str, str | None]) -> str | None:
    """The CQL2 type of an expression (`predicate` for conditions); properties are typed by
    `kinds` (None: unknown), the primary geometry is a geometry."""
    if isinstance(expr, Property):
        return "geometry" if expr.name == GEOMETRY else kinds.get(expr.name)
    if isinstance(expr, Literal):
        return value_kind(expr.value)
    return "predicate" if expr.op in PREDICATES else _RESULT_KINDS.get(expr.op, "number")


def _boolean_literal(expr: Expr) -> bool:
    return isinstance(expr, Literal) and isinstance(expr.value, bool)


def kind_error(call: Call, kinds: Mapping[str, str | None]) -> str | None:
    """Why `call`'s arguments do not suit its operator, or None (unknown kinds pass)."""
    found = [kind(a, kinds) for a in call.args]
    allowed = ARGUMENT_KINDS.get(call.op, COMPARABLE)
    for arg, k in zip(call.args, found, strict=True):
        if k is None or k in allowed or (call.op in LOGICAL and _boolean_literal(arg)):
            continue  # TRUE and FALSE are conditions too; `1 OR 1=1` is no condition
        what = f"the {k} property '{arg.name}'" if isinstance(arg, Property) else f"a {k}"
        return f"'{call.op}' cannot take {what}"
    alike = {k for k in found if k is not None}
    if call.op in _ALIKE and len(alike) > 1:
        return f"'{call.op}' compares {' with '.join(sorted(alike))}: types must match"
    return None


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node, depth first (iterative: trees from clients may be deep)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Call):
            stack.extend(reversed(node.args))


def properties(expr: Expr) -> set[str]:
    return {node.name for node in walk(expr) if isinstance(node, Property)}


def ops(expr: Expr) -> set[str]:
    """The operator names a target must support to run `expr` (structural ones included)."""
    return {node.op for node in walk(expr) if isinstance(node, Call)}


def size(expr: Expr) -> int:
    return sum(1 for _ in walk(expr))


def depth(expr: Expr) -> int:
    deepest = 0
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, Call):
            stack.extend((arg, level + 1) for arg in node.args)
    return deepest


def map_properties(expr: Expr, fn: Callable[[str], str | Expr]) -> Expr:
    """`expr` with every property replaced by `fn(name)` (a new name, or any expression)."""
    if isinstance(expr, Property):
        found = fn(expr.name)
        return Property(found) if isinstance(found, str) else found
    if isinstance(expr, Call):
        return Call(expr.op, tuple(map_properties(a, fn) for a in expr.args))
    return expr


def typed_key(expr: Expr) -> Hashable:
    """A hashable key, equal for identical trees only (for caches keyed by a filter).

    The nodes' own equality is Python's, too loose for that: Literal(1) == Literal(1.0) ==
    Literal(True), 0.0 == -0.0, and equal instants in other time zones are equal. Here
    each literal carries its type, a float its exact bits, a datetime its UTC offset, a
    geometry its WKB. Raises TypeError for a literal of a kind the AST does not define."""
    if isinstance(expr, Property):
        return expr.name
    if isinstance(expr, Literal):
        return _value_key(expr.value)
    return (expr.op, *map(typed_key, expr.args))


def _value_key(value: Any) -> tuple[Any, ...]:
    of = type(value)
    if of is float:
        return (of, value.hex())
    if of is datetime:
        return (of, value, value.utcoffset())
    if of is tuple:
        return (of, *map(_value_key, value))
    if of is TimeInterval:
        return (of, _value_key(value.start), _value_key(value.end))
    if isinstance(value, shapely.Geometry):
        return (of, value.wkb)
    if value is None or of in (bool, int, str, date):
        return (of, value)
    raise TypeError(f"no key for a {of.__name__} literal")


def conjuncts(expr: Expr) -> list[Expr]:
    """The terms of a top-level AND (nested ANDs flattened); `[expr]` otherwise."""
    if isinstance(expr, Call) and expr.op == "and":
        return [term for arg in expr.args for term in conjuncts(arg)]
    return [expr]


def conjoin(terms: Iterable[Expr]) -> Expr | None:
    """The AND of `terms`: None for none, the term itself for one."""
    found = list(terms)
    if not found:
        return None
    return found[0] if len(found) == 1 else Call("and", tuple(found))


__all__ = [
    "ARITHMETIC",
    "ARRAY",
    "COMPARISON",
    "ARGUMENT_KINDS",
    "COMPARABLE",
    "GEOMETRY",
    "OPS",
    "PREDICATES",
    "SPATIAL",
    "TEMPORAL",
    "TEMPORAL_RELATIONS",
    "Call",
    "Expr",
    "Literal",
    "Property",
    "TimeInterval",
    "Unsupported",
    "conjoin",
    "conjuncts",
    "depth",
    "end_of",
    "kind",
    "kind_error",
    "LikePattern",
    "like_match",
    "like_pattern",
    "like_tokens",
    "map_properties",
    "ops",
    "properties",
    "size",
    "start_of",
    "typed_key",
    "value_kind",
    "walk",
]
