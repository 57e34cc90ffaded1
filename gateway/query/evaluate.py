"""The reference evaluation of a filter AST over mapped features (GeoJSON dicts).

Every pushdown target is tested against this module, so its semantics are written out:
- Three-valued logic: null is unknown, and so is a comparison with null or between values
  of different types; `not` of unknown stays unknown; only true selects.
- Strings compare by code point, numbers (not bool) numerically, dates with dates, instants
  with instants; a string meeting a date or instant is parsed (naive means UTC), or null.
- LIKE: `%` any run, `_` one character, `\\` escapes; CASEI is str.casefold, ACCENTI is NFKD
  without combining marks.
- Arithmetic is IEEE double; division or modulo by zero, overflowing powers and NaN are
  null; `div` truncates toward zero and `%` keeps the dividend's sign, as SQL does.
- Temporal operators compare closed spans (a date is its whole day) by the endpoint
  formulas in connectors.filters.TEMPORAL_RELATIONS, each comparison three-valued.
- Arrays compare as sets. S_DWITHIN measures metres in an azimuthal equidistant projection
  centred on the second geometry (exact geodesic distance from that centre).
Nothing here evaluates text: the tree is compiled into closures once per query.
"""

from __future__ import annotations

import math
import operator
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson
import shapely

from connectors import filters
from connectors.filters import GEOMETRY, Call, Expr, Literal, Property, TimeInterval
from connectors.like import LikePattern, like_match
from gateway.query.spatial import SPATIAL, GeometryGetter, distance_to, geometry_getter, spatial

Feature = Mapping[str, Any]
Fn = Callable[[Feature], Any]

_COMPARE = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SCALAR = filters.COMPARABLE
_NOTHING: Feature = {"type": "Feature", "id": None, "geometry": None, "properties": {}}
_ARRAY: dict[str, Callable[[frozenset[Any], frozenset[Any]], bool]] = {
    "a_equals": operator.eq,
    "a_contains": operator.ge,
    "a_containedBy": operator.le,
    "a_overlaps": lambda a, b: not a.isdisjoint(b),
}


def kind_of(value: Any) -> str:
    return filters.value_kind(value) or "other"


def to_date(value: Any) -> date | None:
    if isinstance(value, date):
        return (
            filters.start_of(value).astimezone(UTC).date() if isinstance(value, datetime) else value
        )
    try:
        return date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except (ValueError, AttributeError, TypeError):
        return None


def to_datetime(value: Any) -> datetime | None:
    """An aware UTC instant; naive values are UTC, a bare date is its midnight."""
    if isinstance(value, date):
        return filters.start_of(value).astimezone(UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return filters.start_of(datetime.fromisoformat(text.replace("Z", "+00:00"))).astimezone(UTC)
    except ValueError:
        return None


COERCE: dict[str, Callable[[Any], Any]] = {"date": to_date, "datetime": to_datetime}


def and3(values: list[Any]) -> bool | None:
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def or3(values: list[Any]) -> bool | None:
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def not3(value: Any) -> bool | None:
    return (not value) if isinstance(value, bool) else None


def comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """The pair as two values of one scalar kind, or None (unknown)."""
    if a is None or b is None:
        return None
    ka, kb = kind_of(a), kind_of(b)
    if ka != kb:
        if ka == "string" and kb in COERCE:
            a, ka = COERCE[kb](a), kb
        elif kb == "string" and ka in COERCE:
            b, kb = COERCE[ka](b), ka
        else:
            return None
        if a is None or b is None:
            return None
    if ka not in _SCALAR or (ka == "number" and (a != a or b != b)):
        return None
    return a, b


def compare(op: str, a: Any, b: Any) -> bool | None:
    pair = comparable(a, b)
    return None if pair is None else _COMPARE[op](*pair)


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": math.fmod,
    "div": lambda x, y: float(math.trunc(x / y)),
    "^": math.pow,
}


def arithmetic(op: str, a: Any, b: Any) -> float | None:
    if kind_of(a) != "number" or kind_of(b) != "number":
        return None
    try:
        result = _ARITHMETIC[op](float(a), float(b))
    except (OverflowError, ValueError, ZeroDivisionError):
        return None  # division by zero (also for % and div), overflow, complex powers
    return None if result != result else result


def like(value: Any, pattern: Any) -> bool | None:
    if not isinstance(value, str) or not isinstance(pattern, str):
        return None
    return like_match(value, pattern)


def casei(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) else None


def accenti(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _element(value: Any) -> Any:
    """A hashable key for an array element that keeps true apart from 1."""
    kind = kind_of(value)
    if kind in _SCALAR:
        return (kind, value)
    return ("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str))


def array_op(op: str, a: Any, b: Any) -> bool | None:
    if not isinstance(a, list | tuple) or not isinstance(b, list | tuple):
        return None
    return _ARRAY[op](frozenset(map(_element, a)), frozenset(map(_element, b)))


def span(value: Any) -> tuple[datetime | None, datetime | None]:
    """The closed span a temporal value covers; (None, None) when null or not temporal."""
    if isinstance(value, TimeInterval):
        start = filters.MIN_TIME if value.start is None else filters.start_of(value.start)
        return start, filters.MAX_TIME if value.end is None else filters.end_of(value.end)
    if isinstance(value, str):
        value = to_date(value) or to_datetime(value)
    if isinstance(value, date):
        return filters.start_of(value).astimezone(UTC), filters.end_of(value).astimezone(UTC)
    return None, None


def relation(op: str, s1: Any, e1: Any, s2: Any, e2: Any) -> bool | None:
    any_of, terms = filters.TEMPORAL_RELATIONS[op]
    ends = {"s1": s1, "e1": e1, "s2": s2, "e2": e2}
    results = [compare(cmp, ends[left], ends[right]) for left, cmp, right in terms]
    return or3(results) if any_of else and3(results)


def within_distance(a: Any, b: Any, metres: Any) -> bool | None:
    if kind_of(metres) != "number":
        return None
    distance = distance_to(b)(a)
    return None if distance is None else bool(distance <= metres)


def _within(a: Fn, b: Any, metres: Any) -> Fn:
    """S_DWITHIN against a geometry and a distance known before the first feature."""
    if kind_of(metres) != "number":
        return lambda f: None
    measure = distance_to(b)
    return lambda f: (lambda d: None if d is None else d <= metres)(measure(a(f)))


class _Compiler:
    def __init__(self, types: Mapping[str, str], geometry: GeometryGetter) -> None:
        self.types = types
        self.geometry = geometry

    def compile(self, expr: Expr) -> Fn:
        if isinstance(expr, Property):
            return self._property(expr.name)
        if isinstance(expr, Literal):
            value = expr.value
            if isinstance(value, shapely.Geometry):
                shapely.prepare(value)
            return lambda f: value
        if not filters.properties(expr):  # CASEI('x'): computed once, not once per feature
            constant = self._call(expr)(_NOTHING)
            return lambda f: constant
        return self._call(expr)

    def _property(self, name: str) -> Fn:
        if name == GEOMETRY:
            return self.geometry
        coerce = COERCE.get(self.types.get(name, ""))
        if coerce is None:
            return lambda f: (f.get("properties") or {}).get(name)
        return lambda f: coerce((f.get("properties") or {}).get(name))

    def _call(self, call: Call) -> Fn:
        op = call.op
        if op == "interval":
            return self._interval(call.args)
        if op == "like" and not filters.properties(call.args[1]):
            return _like(self.compile(call.args[0]), self.compile(call.args[1])(_NOTHING))
        fns = [self.compile(arg) for arg in call.args]
        if op in ("and", "or"):
            return self._logical(op, fns)
        if op in filters.TEMPORAL_RELATIONS:
            return self._temporal(op, call.args)
        if op == "s_dwithin":
            a, b, d = fns
            if not filters.properties(Call("array", call.args[1:])):
                return _within(a, b(_NOTHING), d(_NOTHING))
            return lambda f: within_distance(a(f), b(f), d(f))
        if op == "in" and (listed := _listed(call.args[1:])) is not None:
            return _in_set(fns[0], *listed, _in(op, fns))
        build = _BUILDERS.get(op)
        if build is None:
            raise ValueError(f"cannot evaluate operator '{op}'")
        return build(op, fns)

    @staticmethod
    def _logical(op: str, fns: list[Fn]) -> Fn:
        stop, other = (False, True) if op == "and" else (True, False)

        def run(f: Feature) -> bool | None:
            result: bool | None = other
            for fn in fns:
                value = fn(f)
                if value is stop:
                    return stop
                if value is not other:
                    result = None
            return result

        return run

    def _interval(self, args: tuple[Expr, ...]) -> Fn:
        """INTERVAL(a, b) with a non-literal end: evaluates to a (start, end) pair."""
        ends = [None if a == Literal(None) else self.compile(a) for a in args]

        def run(f: Feature) -> tuple[datetime | None, datetime | None]:
            start = filters.MIN_TIME if ends[0] is None else span(ends[0](f))[0]
            return start, filters.MAX_TIME if ends[1] is None else span(ends[1](f))[1]

        return run

    def _temporal(self, op: str, args: tuple[Expr, ...]) -> Fn:
        a, b = (self._span(arg) for arg in args)
        return lambda f: relation(op, *a(f), *b(f))

    def _span(self, expr: Expr) -> Fn:
        fn = self.compile(expr)
        if isinstance(expr, Call) and expr.op == "interval":
            return fn
        return lambda f: span(fn(f))


def _like(value: Fn, pattern: Any) -> Fn:
    """LIKE with a pattern known before the first feature: compiled once."""
    if not isinstance(pattern, str):
        return lambda f: None
    match = LikePattern(pattern).match
    return lambda f: (lambda v: match(v) if isinstance(v, str) else None)(value(f))


def _unary(fn: Callable[[Any], Any]) -> Callable[[str, list[Fn]], Fn]:
    return lambda op, fns: lambda f, a=fns[0]: fn(a(f))


def _binary(fn: Callable[[str, Any, Any], Any]) -> Callable[[str, list[Fn]], Fn]:
    return lambda op, fns: lambda f, a=fns[0], b=fns[1]: fn(op, a(f), b(f))


def _between(op: str, fns: list[Fn]) -> Fn:
    a, lo, hi = fns
    return lambda f: (lambda v: and3([compare(">=", v, lo(f)), compare("<=", v, hi(f))]))(a(f))


def _in(op: str, fns: list[Fn]) -> Fn:
    needle, items = fns[0], fns[1:]
    return lambda f: (lambda v: or3([compare("=", v, item(f)) for item in items]))(needle(f))


def _listed(items: tuple[Expr, ...]) -> tuple[str, frozenset[Any]] | None:
    """(kind, values) when every item is a string literal, or every one a number (no
    NaN): membership in a set then decides as the comparisons one by one would."""
    values = [item.value for item in items if isinstance(item, Literal)]
    kinds = {kind_of(v) for v in values}
    if len(values) != len(items) or len(kinds) != 1 or kinds & {"boolean", "date", "datetime"}:
        return None
    if any(v != v for v in values):
        return None
    (kind,) = kinds
    return (kind, frozenset(values)) if kind in ("string", "number") else None


def _in_set(needle: Fn, kind: str, values: frozenset[Any], each: Fn) -> Fn:
    """IN over a literal list in one lookup: a 400-item list over 30,000 features took
    seconds item by item. A value of another kind takes the general path (a date meets
    strings by parsing them; anything else is unknown)."""

    def run(f: Feature) -> bool | None:
        v = needle(f)
        if v is None:
            return None
        if kind_of(v) != kind or v != v:
            return each(f)
        return v in values

    return run


_BUILDERS: dict[str, Callable[[str, list[Fn]], Fn]] = {
    "not": _unary(not3),
    "isNull": _unary(lambda v: v is None),
    "casei": _unary(casei),
    "accenti": _unary(accenti),
    "like": _binary(lambda op, v, p: like(v, p)),
    "between": _between,
    "in": _in,
    "array": lambda op, fns: lambda f: tuple(fn(f) for fn in fns),
    **{op: _binary(compare) for op in _COMPARE},
    **{op: _binary(arithmetic) for op in filters.ARITHMETIC},
    **{op: _binary(spatial) for op in SPATIAL},
    **{op: _binary(array_op) for op in _ARRAY},
}


def compile_value(
    expr: Expr,
    *,
    types: Mapping[str, str] | None = None,
    geometry: GeometryGetter | None = None,
) -> Fn:
    """`expr` as a function of a feature returning its value (True/False/None for a
    predicate). `types` (property -> FieldType) parses date and datetime properties."""
    return _Compiler(types or {}, geometry or geometry_getter()).compile(expr)


def compile_predicate(
    expr: Expr,
    *,
    types: Mapping[str, str] | None = None,
    geometry: GeometryGetter | None = None,
) -> Callable[[Feature], bool]:
    """`expr` as a test of one mapped feature: only true selects (unknown does not)."""
    fn = compile_value(expr, types=types, geometry=geometry)
    return lambda feature: fn(feature) is True


__all__ = ["COERCE", "compare", "compile_predicate", "compile_value", "geometry_getter", "span"]
