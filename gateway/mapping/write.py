"""The mapping run backwards: profile properties a client writes, as source field values.

Each invertible rule (rename, cast, unit factor/offset, code list: see invert.py) gives one
candidate source value, typed as the source stores it; the rule is then run forwards on that
value and must give back what the client sent, so nothing is stored that would read back
differently (12.345 m into an integer column of centimetres is refused, not rounded). A
rule that cannot run backwards (constant, template, collect, an operation, a default, a
split) is accepted only when the client sent exactly what the rule gives for the record as
written (a constant equal to the constant, a template equal to its filled text): that is
what a client does that sends a feature back as it read it. Anything else is refused with
the property's name and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from gateway.mapping.casts import caster, text
from gateway.mapping.compile import Mapper, compile_rule
from gateway.mapping.invert import why_not_invertible
from gateway.mapping.rules import MappingRule

Record = dict[str, Any]


class NotWritable(ValueError):
    """A property whose value cannot be stored through the mapping: answered 400."""

    def __init__(self, prop: str, reason: str) -> None:
        super().__init__(f"{prop}: {reason}")
        self.prop = prop
        self.reason = reason


def same(a: Any, b: Any) -> bool:
    """Equal as the profile compares values: numbers to the mapping's 6 decimals (units
    are rounded there), booleans never equal to numbers, lists item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        if not (math.isfinite(a) and math.isfinite(b)):
            return False
        return round(float(a), 6) == round(float(b), 6)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _integer(value: Any, fmt: str | None) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is no integer")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return round(value)
    return int(value)


def _number(value: Any, fmt: str | None) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is no number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _boolean(value: Any, fmt: str | None) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("not a boolean")


def _string(value: Any, fmt: str | None) -> str:
    if fmt and isinstance(value, str):
        return _parsed(value).strftime(fmt)
    return value if isinstance(value, str) else text(value)


def _date(value: Any, fmt: str | None) -> Any:
    return _parsed(value).date().isoformat() if isinstance(value, str) else value


def _datetime(value: Any, fmt: str | None) -> Any:
    return caster("datetime")(value) if isinstance(value, str) else value


_TO_SOURCE: dict[str, Callable[[Any, str | None], Any]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "string": _string,
    "date": _date,
    "datetime": _datetime,
}


def to_source_type(value: Any, kind: str | None, fmt: str | None = None) -> Any:
    """A profile value as a source field of type `kind` holds it (None: as it is; `fmt`:
    the strptime format of a text date). Raises ValueError when it has no such form."""
    convert = _TO_SOURCE.get(kind or "")
    return value if value is None or convert is None else convert(value, fmt)


def _parsed(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if isinstance(moment, datetime) else datetime.combine(moment, date.min.time())


class InverseMapping:
    """One collection's mapping backwards; `source_types` are the source's field types
    (empty when the source does not describe them: values then go as they are)."""

    def __init__(self, mapper: Mapper, source_types: dict[str, str]) -> None:
        self.identity = mapper.identity
        self.id_field = mapper.id_field
        self.rules: dict[str, MappingRule] = mapper.sources
        self.types = source_types
        self._forward: dict[str, Callable[[Record], Any]] = {
            name: compile_rule(rule) for name, rule in self.rules.items()
        }
        self._reasons = {name: why_not_invertible(rule) for name, rule in self.rules.items()}

    def writable_names(self) -> list[str]:
        """The profile properties a replace writes (null when the client leaves them out)."""
        if self.identity:
            return [n for n in self.types if n != self.id_field]
        return [n for n in self.rules if self._reasons[n] is None]

    def source_id(self, feature_id: Any) -> Any:
        """The feature id as the id field stores it."""
        kind = self.types.get(self.id_field or "")
        try:
            return to_source_type(feature_id, kind)
        except ValueError:
            raise NotWritable("id", f"'{feature_id}' is not a valid {kind}") from None

    def to_source(self, props: Record, names: Iterable[str], base: Record | None = None) -> Record:
        """The source fields for the profile properties `names` (values from `props`, a
        missing one is null). `base`: the stored record's fields, which rules that cannot
        run backwards are evaluated on, together with the fields written here."""
        names = list(names)
        if self.identity:
            return {name: self._identity(name, props.get(name)) for name in names}
        out: Record = {}
        later: list[str] = []
        for name in names:
            rule = self.rules.get(name)
            if rule is None:
                if props.get(name) is not None:
                    raise NotWritable(name, "the collection's mapping does not store it")
                continue
            if self._reasons[name] is not None:
                later.append(name)
                continue
            assert rule.from_ is not None
            out[rule.from_] = self._invert(name, rule, props.get(name))
        merged = {**(base or {}), **out}
        for name in later:
            self._check_computed(name, self.rules[name], props.get(name), merged)
        return out

    def _identity(self, name: str, value: Any) -> Any:
        if self.types and name not in self.types:
            raise NotWritable(name, "the source has no field of that name")
        try:
            return to_source_type(value, self.types.get(name))
        except (TypeError, ValueError) as e:
            raise NotWritable(name, f"not a valid {self.types.get(name)}: {e}") from None

    def _invert(self, name: str, rule: MappingRule, value: Any) -> Any:
        assert rule.from_ is not None
        field = rule.from_
        if self.types and field not in self.types:
            raise NotWritable(name, f"the source has no field '{field}' to store it in")
        if value is None:
            return None
        if rule.type in ("date", "datetime") and isinstance(value, str):
            value = caster(rule.type)(value) or value  # compared as the mapping prints it
        kind = self.types.get(field)
        forward = self._forward[name]
        for candidate in self._candidates(rule, value, kind):
            if same(forward({field: candidate}), value):
                return candidate
        raise NotWritable(name, self._why_not(rule, value, kind))

    def _candidates(self, rule: MappingRule, value: Any, kind: str | None) -> list[Any]:
        """Source values that may map to `value`: the codes of a code list, else the value
        with the unit undone, typed as the source field."""
        if rule.codes is not None:
            found = []
            for code in rule.codes:
                try:
                    found.append(to_source_type(code, kind))
                except (TypeError, ValueError):
                    continue
            return found
        if rule.factor is not None or rule.offset is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return []
            value = (value - (rule.offset or 0.0)) / (rule.factor or 1.0)
        try:
            return [to_source_type(value, kind, rule.format)]
        except (TypeError, ValueError, OverflowError):
            return []

    @staticmethod
    def _why_not(rule: MappingRule, value: Any, kind: str | None) -> str:
        shown = repr(value)[:60]
        if rule.codes is not None:
            return f"{shown} is none of the values its code list gives"
        if rule.factor is not None or rule.offset is not None:
            return f"{shown} cannot be stored exactly in the source's {kind or 'field'}"
        return f"{shown} cannot be stored as the source's {kind or 'field'} keeps it"

    def _check_computed(self, name: str, rule: MappingRule, value: Any, record: Record) -> None:
        """A computed property is stored by the fields it is computed from: the client may
        send it only as the record written gives it."""
        computed = self._forward[name](record)
        if same(computed, value):
            return
        reason = self._reasons[name]
        raise NotWritable(name, f"cannot be written: {reason} (for this record it is {computed!r})")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: objects merge key by key, null removes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


__all__ = ["InverseMapping", "NotWritable", "merge_patch", "same", "to_source_type"]
