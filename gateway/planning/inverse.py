"""Inverting the mapping: a filter in profile names as a filter a source can run.

`split(expr, rules, capabilities)` takes the top-level AND apart. Each conjunct is first
folded (below), then rewritten into source names; it is pushed when the rewrite exists and
the connector accepts it, and kept as residual (evaluated after mapping) otherwise. A
rewrite must select exactly the records whose mapped feature the conjunct selects. Inside a
conjunct, AND and OR keep what a part must preserve, NOT swaps it: a part must keep its
*true* set, its *false* set (under one NOT), or both (exact).

The rules, per property of the profile:
1. Constant (`constant:`) and absent properties (not in a non-identity mapping, so always
   null) are folded at plan time: every sub-expression that reads only such properties is
   evaluated once (evaluate.py) and replaced by its value; AND/OR/NOT with true/false/unknown
   simplify. A conjunct that folds to true disappears; one that folds to false or unknown
   makes the whole filter false: `split` returns `Literal(False)` (pushed when accepted).
   A comparison with a null literal (arithmetic that folded to null, such as 2^2000) is
   unknown whatever the property holds, so it folds the same way.
2. Rename (`from:` alone, or a cast to the source's own type among integer, number,
   boolean, date, datetime, or integer to number, and no `format`): values are identical,
   so any expression over such properties (and the geometry) is renamed, exact.
   A `string` cast of a string field differs only in that '' becomes null: a term over that
   one property is renamed when the term's outcome for '' equals its outcome for null.
3. Numeric units (`factor`/`offset`, and rounding casts such as number -> integer) over an
   integer or number field: the mapped value g(s) (computed with mapping.compile_rule
   itself: factor, offset, rounding to 6 decimals or to an integer) is monotonic in s, so
   `p op c` (=, <>, <, <=, >, >=, BETWEEN, IN with numeric literals) holds on a half-line
   of source values. Its boundary is found by bisection over the source domain (integers,
   or the ordered set of doubles), evaluating g at every step: circumference = diameter*pi
   rounded to 6 decimals gives `circumference > 100` as `diameter >= 31.830988777534014`,
   not `diameter > 100/pi` (31.8309886183…: every diameter up to the bound still maps to
   exactly 100.0). No algebra on rounded floats, so no rounding error; an empty equality
   set, or a boundary that cannot be bracketed, stays residual.
4. Code lists (`codes:`) over a string, integer or number field: the term is evaluated
   for every code (after the cast), giving the codes where it is true (T) and false (F).
   A value without a code maps to null, where the term must be unknown: then the true set
   is `s IN T` (Literal(False) when T is empty: a value with no code) and the false set is
   `NOT (s IN F)`; a term true (or false) for null itself stays residual. An exact rewrite
   is impossible (the source cannot tell unmapped codes apart), so a coded term is pushed
   only where its true or its false set alone matters.
5. A `default:` (defaults.py): the term holds its outcome for the default on the records
   the rule without it maps to null. A rename of a typed field or a code list can name
   those records in the source (null, '' for text, or no code), so the rewrite for the rule
   without the default gains `OR <those>` or `AND NOT <those>`; any other rule with a
   default stays residual.
6. Everything else (templates, `format` casts, text-to-number casts, values computed from
   several fields by `collect` or an operation such as `difference`, mixed terms) stays
   residual: no single source column holds such a value.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Collection, Mapping
from threading import Lock
from typing import Any

from cachetools import LRUCache

from connectors import paths
from connectors.filters import (
    COMPARISON,
    GEOMETRY,
    PREDICATES,
    Call,
    Expr,
    Literal,
    Property,
    conjoin,
    conjuncts,
    map_properties,
    ops,
    properties,
    typed_key,
)
from gateway.mapping import MappingRule, compile_rule
from gateway.planning import defaults
from gateway.planning.codes import MAX_CODES, code_values
from gateway.query.evaluate import compile_value, kind_of

Need = str  # "true", "false" or "exact": which outcome set a rewrite must keep
_FLIP = {"true": "false", "false": "true", "exact": "exact"}
_SWAP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
_RENAME_CASTS = {("integer", "integer"), ("number", "number"), ("number", "integer")}
_RENAME_CASTS |= {("boolean", "boolean"), ("date", "date"), ("datetime", "datetime")}
Capabilities = Callable[[Expr], bool] | Collection[str] | Any
Split = tuple[Expr | None, Expr | None]
_SPLITS: LRUCache[tuple[Any, ...], tuple[Any, Split]] = LRUCache(maxsize=256)
_SPLITS_LOCK = Lock()


def split(
    expr: Expr | None,
    rules: Mapping[str, MappingRule] | None,
    capabilities: Capabilities,
    *,
    source_types: Mapping[str, str] | None = None,
    types: Mapping[str, str] | None = None,
) -> Split:
    """(pushed in source names, residual in profile names) of an AND of conjuncts.

    `rules`: profile property -> MappingRule (None: identity mapping). `capabilities`: a
    test `expr -> bool`, a set of operator names, or an object with `filter_ops`.
    `source_types`/`types`: FieldTypes of source fields / profile properties.

    A client paging through results sends the same filter with every page, so the split
    (folding, bisection, the connector's test compiling SQL) is kept per filter (typed, see
    typed_key), rules (by identity: a Mapper's never change, and comparing them would cost
    what the split does), capabilities and types. Both halves are immutable ASTs."""
    if expr is None:
        return None, None
    source_types, types = source_types or {}, types or {}
    try:
        typed = (tuple(source_types.items()), tuple(types.items()))
        key = (typed_key(expr), id(rules), capabilities, typed)
        hash(key)
    except TypeError:  # e.g. a mutable set of operator names: not kept
        return _split(expr, rules, capabilities, source_types, types)
    with _SPLITS_LOCK:
        kept = _SPLITS.get(key)
    if kept is not None and kept[0] is rules:
        return kept[1]
    found = _split(expr, rules, capabilities, source_types, types)
    with _SPLITS_LOCK:
        _SPLITS[key] = (rules, found)  # holding the rules keeps their id from being reused
    return found


def _split(
    expr: Expr,
    rules: Mapping[str, MappingRule] | None,
    capabilities: Capabilities,
    source_types: Mapping[str, str],
    types: Mapping[str, str],
) -> Split:
    accepts = _acceptor(capabilities)
    inverter = _Inverter(rules, source_types, types)
    pushed: list[Expr] = []
    residual: list[Expr] = []
    for conjunct in conjuncts(expr):
        folded = inverter.fold(conjunct)
        if isinstance(folded, Literal):
            if folded.value is True:
                continue
            nothing = Literal(False)
            return (nothing, None) if accepts(nothing) else (None, nothing)
        source = inverter.rewrite(folded, "true")
        if source is not None and accepts(source):
            pushed.append(source)
        else:
            residual.append(folded)
    return conjoin(pushed), conjoin(residual)


def _acceptor(capabilities: Capabilities) -> Callable[[Expr], bool]:
    if callable(capabilities):
        return capabilities
    names = frozenset(getattr(capabilities, "filter_ops", capabilities) or ())
    return lambda expr: bool(names) and ops(expr) <= names


class _Inverter:
    def __init__(
        self,
        rules: Mapping[str, MappingRule] | None,
        source_types: Mapping[str, str],
        types: Mapping[str, str],
    ) -> None:
        self.rules, self.source_types, self.types = rules, source_types, types

    # --- rule 1: constants ------------------------------------------------------------

    def constant(self, name: str) -> tuple[bool, Any]:
        """(is constant, value) of a profile property."""
        if self.rules is None or name == GEOMETRY:
            return False, None
        rule = self.rules.get(name)
        if rule is None:
            return True, None
        return rule.constant is not None, rule.constant

    def fold(self, expr: Expr) -> Expr:
        if isinstance(expr, Call) and expr.op in ("and", "or", "not"):
            return _simplify(expr.op, [self.fold(arg) for arg in expr.args])
        if isinstance(expr, Call) and expr.op in COMPARISON and Literal(None) in expr.args:
            return Literal(None)  # null (say, from 2^2000) makes any comparison unknown
        names = properties(expr)
        if not all(self.constant(n)[0] for n in names):
            return (
                Call(expr.op, tuple(self.fold(a) for a in expr.args))
                if isinstance(expr, Call)
                else expr
            )
        values = {n: self.constant(n)[1] for n in names}
        is_predicate = isinstance(expr, Call) and expr.op in PREDICATES
        if any(isinstance(v, dict | list) for v in values.values()) or not (names or is_predicate):
            return expr
        value = compile_value(expr, types=self.types)({"properties": values})
        if is_predicate:
            return Literal(value if isinstance(value, bool) else None)
        return Literal(value) if value is None or kind_of(value) != "other" else expr

    # --- rewriting --------------------------------------------------------------------

    def rewrite(self, expr: Expr, need: Need) -> Expr | None:
        if isinstance(expr, Literal):
            return expr
        if isinstance(expr, Call) and expr.op in ("and", "or"):
            parts = [self.rewrite(arg, need) for arg in expr.args]
            return None if None in parts else Call(expr.op, tuple(parts))  # type: ignore[arg-type]
        if isinstance(expr, Call) and expr.op == "not":
            inner = self.rewrite(expr.args[0], _FLIP[need])
            return None if inner is None else Call("not", (inner,))
        return self.term(expr, need)

    def term(self, expr: Expr, need: Need) -> Expr | None:
        names = properties(expr) - {GEOMETRY}
        renamed = [self.renamed(n) for n in names]
        if all(r is not None for r in renamed):
            return map_properties(expr, lambda n: n if n == GEOMETRY else self.renamed(n))
        if len(names) != 1 or GEOMETRY in properties(expr) or self.rules is None:
            return None
        name = names.pop()
        rule = self.rules[name]
        if rule.default is not None:
            return defaults.defaulted(self, expr, name, rule, need)
        source = rule.from_
        if source is None or rule.template is not None or rule.format is not None:
            return None
        if rule.split is not None:  # a list made from text: evaluated after mapping
            return None
        if rule.codes is not None:
            return self.coded(expr, name, rule, need)
        source_type = self.source_types.get(source)
        if rule.type == "string" and source_type == "string" and rule.factor is None:
            return self.blank_as_null(expr, name, source, need)
        if source_type in ("integer", "number") and rule.type in (None, "integer", "number"):
            return _numeric(expr, name, rule, source_type)
        return None

    def renamed(self, name: str) -> str | None:
        if self.rules is None:
            return name
        rule = self.rules.get(name)
        if rule is None or rule.from_ is None or rule.codes is not None:
            return None
        if rule.split is not None or rule.default is not None:
            return None
        if rule.factor is not None or rule.offset is not None or rule.format is not None:
            return None
        if paths.is_path(rule.from_) and rule.from_ not in self.source_types:
            return None  # a path into a record the connector does not flatten: walked after mapping
        cast = (rule.type, self.source_types.get(rule.from_))
        return rule.from_ if rule.type is None or cast in _RENAME_CASTS else None

    def with_rule(self, name: str, rule: MappingRule) -> _Inverter:
        """The same inverter with one property's rule replaced."""
        assert self.rules is not None
        return _Inverter({**self.rules, name: rule}, self.source_types, self.types)

    def outcome(self, expr: Expr, name: str, value: Any) -> Any:
        return compile_value(expr, types=self.types)({"properties": {name: value}})

    # --- rule 2b and rule 4 -------------------------------------------------------------

    def blank_as_null(self, expr: Expr, name: str, source: str, need: Need) -> Expr | None:
        """A string cast maps '' to null: harmless when the term cannot tell them apart."""
        blank, null = self.outcome(expr, name, ""), self.outcome(expr, name, None)
        keep = {"true": lambda v: v is True, "false": lambda v: v is False}
        same = blank == null if need == "exact" else keep[need](blank) == keep[need](null)
        return map_properties(expr, lambda n: source) if same else None

    def coded(self, expr: Expr, name: str, rule: MappingRule, need: Need) -> Expr | None:
        source = rule.from_
        assert source is not None and rule.codes is not None
        keys = code_values(rule.codes, self.source_types.get(source))
        if need == "exact" or keys is None or len(keys) > MAX_CODES:
            return None
        unknown = self.outcome(expr, name, None)
        if (need == "true" and unknown is True) or (need == "false" and unknown is False):
            return None
        mapped = compile_rule(rule)
        outcomes = [(k, self.outcome(expr, name, mapped({source: k}))) for k in keys]
        column = Property(source)
        if need == "true":
            hits = [Literal(k) for k, v in outcomes if v is True]
            return Call("in", (column, *hits)) if hits else Literal(False)
        misses = [Literal(k) for k, v in outcomes if v is False]
        return Call("not", (Call("in", (column, *misses)),)) if misses else Literal(True)


def _simplify(op: str, args: list[Expr]) -> Expr:
    """AND/OR/NOT over folded parts, three-valued (Literal(None) is unknown)."""
    if op == "not":
        (arg,) = args
        if isinstance(arg, Literal):
            return Literal(None if arg.value is None else not arg.value)
        return Call("not", (arg,))
    stop = op == "or"  # the value that decides an OR (true) or an AND (false)
    if any(isinstance(a, Literal) and a.value is stop for a in args):
        return Literal(stop)
    kept = [a for a in args if not (isinstance(a, Literal) and a.value is (not stop))]
    if not kept:
        return Literal(not stop)
    if all(isinstance(a, Literal) for a in kept):
        return Literal(None)
    return kept[0] if len(kept) == 1 else Call(op, tuple(kept))


# --- rule 3: monotonic numeric mappings ---------------------------------------------------


def _numeric(expr: Expr, name: str, rule: MappingRule, source_type: str) -> Expr | None:
    """Rule 3 for `p op c`, `c op p`, `p BETWEEN a AND b` and `p IN (…)`."""
    if not isinstance(expr, Call) or (rule.factor or 1.0) == 0 or rule.from_ is None:
        return None
    op, args, prop = expr.op, expr.args, Property(name)
    if op in _SWAP and len(args) == 2 and args[1] == prop:
        op, args = _SWAP[op], (args[1], args[0])
    if args[0] != prop or not all(_is_number(a) for a in args[1:]):
        return None
    bounds = [a.value for a in args[1:]]  # type: ignore[union-attr]
    mapped, source = compile_rule(rule), rule.from_
    region = _Region(lambda s: mapped({source: s}), rule, source_type == "integer")
    if op == "between" and len(bounds) == 2:
        return _and(region.compare(">=", bounds[0]), region.compare("<=", bounds[1]))
    if op == "in":
        parts = [p for b in bounds if (p := region.compare("=", b)) is not None]
        return None if not parts else parts[0] if len(parts) == 1 else Call("or", tuple(parts))
    return region.compare(op, bounds[0]) if op in _SWAP and len(bounds) == 1 else None


def _is_number(expr: Expr) -> bool:
    return isinstance(expr, Literal) and type(expr.value) in (int, float)


def _and(a: Expr | None, b: Expr | None) -> Expr | None:
    return None if a is None or b is None else Call("and", (a, b))


class _Region:
    """The source values s where g(s) op c, g monotonic: found by bisection on g itself.

    Each half-line is `s >= m` (g rising) or `s < m` (g falling), m a source value."""

    def __init__(self, g: Callable[[Any], Any], rule: MappingRule, ints: bool) -> None:
        self.g, self.ints, self.source = g, ints, rule.from_ or ""
        self.factor, self.offset = rule.factor or 1.0, rule.offset or 0.0
        self.rising = self.factor > 0

    def compare(self, op: str, c: float) -> Expr | None:
        at_least, above = self.half(_ge, c), self.half(_gt, c)  # {g >= c}, {g > c}
        if at_least is None or above is None:
            return None
        if op in (">=", ">"):
            return at_least if op == ">=" else above
        if op in ("<", "<="):
            return _complement(at_least if op == "<" else above)
        first, last = (at_least, above) if self.rising else (above, at_least)
        if not first.args[1].value < last.args[1].value:  # type: ignore[union-attr]
            return None  # no source value maps to exactly c
        if op == "=":
            return Call("and", (at_least, _complement(above)))
        return Call("or", (_complement(at_least), above))

    def half(self, cmp: Callable[[Any, float], bool], c: float) -> Call | None:
        def test(s: Any) -> bool:
            return cmp(self.g(s), c) is self.rising

        found = self.first(test, (c - self.offset) / self.factor)
        if found is None:
            return None
        return Call(">=" if self.rising else "<", (Property(self.source), Literal(found)))

    def first(self, test: Callable[[Any], bool], guess: float) -> int | float | None:
        """The least s with test(s), test rising from false to true around `guess`."""
        if not math.isfinite(guess):
            return None
        width = max(1.0, abs(guess) * 1e-9, 1e-6 / abs(self.factor))
        for _ in range(40):
            lo, hi = self.cast(guess - width, math.floor), self.cast(guess + width, math.ceil)
            if lo is None or hi is None:
                return None
            if not test(lo) and test(hi):
                return self.bisect(test, lo, hi)
            width *= 8
        return None

    def cast(self, value: float, rounding: Callable[[float], int]) -> int | float | None:
        if not math.isfinite(value):
            return None
        return rounding(value) if self.ints else value

    def bisect(self, test: Callable[[Any], bool], lo: Any, hi: Any) -> int | float:
        key, back = (int, int) if self.ints else (_ordinal, _from_ordinal)
        a, b = key(lo), key(hi)  # test(back(a)) is false, test(back(b)) true
        while b - a > 1:
            mid = (a + b) // 2
            a, b = (a, mid) if test(back(mid)) else (mid, b)
        return back(b)


def _complement(half: Call) -> Call:
    return Call({">=": "<", "<": ">="}[half.op], half.args)


def _gt(value: Any, c: float) -> bool:
    return value is not None and value > c


def _ge(value: Any, c: float) -> bool:
    return value is not None and value >= c


def _ordinal(x: float) -> int:
    """Doubles as integers in the same order (so bisection visits every double)."""
    (bits,) = struct.unpack("<q", struct.pack("<d", x))
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def _from_ordinal(n: int) -> float:
    bits = n if n >= 0 else (-n) | -0x8000_0000_0000_0000
    (x,) = struct.unpack("<d", struct.pack("<q", bits))
    return x


__all__ = ["split"]
