"""Request URLs of a REST API: templates filled from the configuration, and filters pushed
down as the API's own query parameters.

A pushed filter must select exactly what the gateway would select, so only the declared
parameter forms are used (`eq`, `in` as a comma list, `gte`/`lte`), on fields whose type the
literal matches, with values a query string can carry unambiguously (no empty string, no
comma inside an `in` item). Several conjuncts on one field are combined here (equality
sets intersected, bounds tightened), since a parameter can be sent once; a combination
that nothing can satisfy makes the query empty without asking the API.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from connectors.base import FieldType
from connectors.filters import Call, Expr, Literal, Property, conjuncts
from connectors.rest.config import PushRule, RestConfig, fill

_FLIP = {">=": "<=", "<=": ">=", ">": "<", "<": ">", "=": "="}


def with_params(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` set (replacing those it has), keys in a stable order."""
    parts = urlsplit(url)
    merged = dict(parse_qsl(parts.query, keep_blank_values=True))
    merged.update(params)
    query = urlencode(sorted(merged.items()), quote_via=quote, safe=",:")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def params_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def bbox_params(config: RestConfig, bbox: tuple[float, float, float, float]) -> dict[str, str]:
    """A CRS84 box (not across the antimeridian) as the API's parameter(s)."""
    names = config.bbox_params()
    values = [render(float(v)) for v in bbox]
    if len(names) == 1:
        return {names[0]: ",".join(values)}
    return dict(zip(names, values, strict=True))


def render(value: Any) -> str:
    """A literal as a query-string value: ISO 8601 dates and instants (UTC as Z)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


@dataclass
class _Constraint:
    values: list[Any] | None = None  # equal to one of these (None: any)
    low: Any = None
    high: Any = None

    def allow(self, values: list[Any]) -> None:
        self.values = values if self.values is None else [v for v in self.values if v in values]

    def at_least(self, value: Any) -> None:
        self.low = value if self.low is None else max(self.low, value)

    def at_most(self, value: Any) -> None:
        self.high = value if self.high is None else min(self.high, value)


class Pushdown:
    """The pushable part of filters, for one source's field types (from describe())."""

    def __init__(self, config: RestConfig, types: Mapping[str, FieldType]) -> None:
        self.config = config
        self.types = dict(types)

    def accepts(self, expr: Expr) -> bool:
        """The planner's test of one conjunct in source names."""
        if isinstance(expr, Literal) and expr.value is False:
            return True
        try:
            terms = self._terms(expr)
        except ValueError:
            return False
        return all(self._declared(name, op, values) for name, op, values in terms)

    def params(self, expr: Expr) -> dict[str, str] | None:
        """Query parameters for an AND of accepted conjuncts; None: nothing can match."""
        found: dict[str, _Constraint] = {}
        for term in conjuncts(expr):
            if isinstance(term, Literal):
                if term.value is False:
                    return None
                continue
            for name, op, values in self._terms(term):
                c = found.setdefault(name, _Constraint())
                if op in ("eq", "in"):
                    c.allow(values)
                elif op == "gte":
                    c.at_least(values[0])
                else:
                    c.at_most(values[0])
        out: dict[str, str] = {}
        for name, c in found.items():
            rendered = self._render(self.config.field_rules(name), c)
            if rendered is None:
                return None
            out.update(rendered)
        return out

    @staticmethod
    def _render(rules: Mapping[str, PushRule], c: _Constraint) -> dict[str, str] | None:
        """The parameters of one field's combined constraint; None: it is unsatisfiable."""
        if c.low is not None and c.high is not None and c.low > c.high:
            return None
        if c.values is not None:
            kept = [v for v in dict.fromkeys(c.values) if _within(v, c.low, c.high)]
            if not kept:
                return None
            if len(kept) == 1 and "eq" in rules:
                return {rules["eq"].param: render(kept[0])}
            return {rules["in"].param: ",".join(render(v) for v in kept)}
        out = {}
        if c.low is not None:
            out[rules["gte"].param] = render(c.low)
        if c.high is not None:
            out[rules["lte"].param] = render(c.high)
        return out

    # --- terms ------------------------------------------------------------------------

    def _terms(self, expr: Expr) -> list[tuple[str, str, list[Any]]]:
        """(field, eq|in|gte|lte, values) of a comparison; ValueError when not one."""
        if not isinstance(expr, Call):
            raise ValueError("not a comparison")
        op, args = expr.op, expr.args
        if op == "in" and args and isinstance(args[0], Property):
            name = args[0].name
            values = [self._value(name, a, "in") for a in args[1:]]
            return [(name, "in", values)]
        if op == "between" and len(args) == 3 and isinstance(args[0], Property):
            name = args[0].name
            low, high = self._value(name, args[1], "gte"), self._value(name, args[2], "lte")
            return [(name, "gte", [low]), (name, "lte", [high])]
        if op not in _FLIP or len(args) != 2:
            raise ValueError("not a comparison")
        left, right = args
        if isinstance(left, Literal) and isinstance(right, Property):
            left, right, op = right, left, _FLIP[op]
        if not isinstance(left, Property):
            raise ValueError("not a property")
        name = left.name
        if op == "=":
            return [(name, "eq", [self._value(name, right, "eq")])]
        if op in (">", "<"):  # exact only on integers: x > 5 is x >= 6
            if self.types.get(name) != "integer":
                raise ValueError("strict bound")
            value = self._value(name, right, "eq")  # an integral literal only
            return [(name, "gte", [value + 1])] if op == ">" else [(name, "lte", [value - 1])]
        return [(name, "gte" if op == ">=" else "lte", [self._value(name, right, op)])]

    def _value(self, name: str, expr: Expr, op: str) -> Any:
        """The literal's value when it fits the field's type; ValueError otherwise."""
        if not isinstance(expr, Literal):
            raise ValueError("not a literal")
        value, kind = expr.value, self.types.get(name)
        if kind == "string" and isinstance(value, str) and value:
            if op == "in" and "," in value:
                raise ValueError("a comma inside a list item")
            return value
        if kind in ("integer", "number") and _is_number(value):
            if kind == "integer" and not float(value).is_integer():
                if op in ("eq", "in"):
                    raise ValueError("no integer equals it")
                return math.ceil(value) if op in (">=", "gte") else math.floor(value)
            return int(value) if kind == "integer" else value
        if kind == "boolean" and isinstance(value, bool) and op in ("eq", "in"):
            return value
        if kind == "date" and type(value) is date:
            return value
        if kind == "datetime" and isinstance(value, datetime):
            return value
        raise ValueError("type mismatch")

    def _declared(self, name: str, op: str, values: list[Any]) -> bool:
        rules = self.config.field_rules(name)
        if op == "eq":
            return "eq" in rules or "in" in rules
        if op == "in":
            return "in" in rules or ("eq" in rules and len(set(values)) == 1)
        return op in rules


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _within(value: Any, low: Any, high: Any) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


__all__ = ["Pushdown", "bbox_params", "fill", "params_of", "render", "with_params"]
