"""Inverting rules with a `default:` (see inverse.py, rule 5).

A default d stands in the mapped feature wherever the rule without it gives null, so a term
T over the property holds T(d) on exactly those records. The rewrite of T for the rule
without the default (`inner`) is right as it is when T(d) and T(null) fall on the same side
of what the rewrite must keep; otherwise the records that map to null are added to or taken
out of `inner`. That is only possible where the source can name them:
- a rename of a typed field: the field is null (or '', which maps to null, for text);
- a code list: the field is null or holds none of the codes (the codes are enumerated).
Anything else with a default stays residual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from connectors.filters import Call, Expr, Literal, Property
from gateway.mapping import MappingRule, compile_rule
from gateway.planning.codes import MAX_CODES, code_values

Need = str
_KEEP: dict[Need, Callable[[Any], bool]] = {
    "true": lambda v: v is True,
    "false": lambda v: v is False,
}
_TYPED = ("string", "integer", "number", "boolean", "date", "datetime")


class Inverter(Protocol):
    rules: Mapping[str, MappingRule] | None
    source_types: Mapping[str, str]

    def outcome(self, expr: Expr, name: str, value: Any) -> Any: ...
    def term(self, expr: Expr, need: Need) -> Expr | None: ...
    def renamed(self, name: str) -> str | None: ...
    def with_rule(self, name: str, rule: MappingRule) -> Inverter: ...


def defaulted(inv: Inverter, expr: Expr, name: str, rule: MappingRule, need: Need) -> Expr | None:
    """The rewrite of a term over a property whose rule has a default."""
    if rule.codes is not None and rule.split is None:
        return _coded(inv, expr, name, rule, need)
    bare = inv.with_rule(name, rule.model_copy(update={"default": None}))
    inner = bare.term(expr, need)
    source = bare.renamed(name)
    source_type = inv.source_types.get(source or "")
    if inner is None or source is None or source_type not in _TYPED:
        return None
    at_default, at_null = inv.outcome(expr, name, rule.default), inv.outcome(expr, name, None)
    same = (
        at_default == at_null
        if need == "exact"
        else _KEEP[need](at_default) == _KEEP[need](at_null)
    )
    if same and source_type != "string":  # '' is kept as is by a rename, but gets d here
        return inner
    nulls: Expr = Call("isNull", (Property(source),))
    if source_type == "string":
        nulls = Call("or", (nulls, Call("=", (Property(source), Literal("")))))
    if need == "exact" and at_default is None:
        return None  # T(d) unknown: no rewrite keeps that exactly
    # records mapping to d: kept by OR (true), or made false by AND NOT
    add = at_default is not False if need == "false" else at_default is True
    return Call("or", (inner, nulls)) if add else Call("and", (inner, Call("not", (nulls,))))


def _coded(inv: Inverter, expr: Expr, name: str, rule: MappingRule, need: Need) -> Expr | None:
    """Codes with a default: every source value maps to a code's value or to d, so the
    term's outcome is known for each code and for 'anything else' (null included)."""
    source = rule.from_
    assert source is not None and rule.codes is not None
    keys = code_values(rule.codes, inv.source_types.get(source))
    if need == "exact" or keys is None or len(keys) > MAX_CODES:
        return None
    mapped = compile_rule(rule)
    outcomes = [(k, inv.outcome(expr, name, mapped({source: k}))) for k in keys]
    at_default = inv.outcome(expr, name, rule.default)
    column = Property(source)
    nulls = Call("isNull", (column,))
    wanted = need == "true"  # the outcome the rewrite must reproduce
    if at_default is wanted:  # every other value has it too: name the codes that do not
        others = [Literal(k) for k, v in outcomes if v is not wanted]
        if not others:
            return Literal(wanted)
        if wanted:
            return Call("or", (nulls, Call("not", (Call("in", (column, *others)),))))
        return Call("and", (Call("in", (column, *others)), Call("not", (nulls,))))
    hits = [Literal(k) for k, v in outcomes if v is wanted]
    if not hits:
        return Literal(not wanted)
    found = Call("in", (column, *hits))
    return found if wanted else Call("not", (found,))
