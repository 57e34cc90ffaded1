"""Match source fields to profile properties: by name (the profile's synonyms), by type,
by what the values look like (numbers in range after a unit factor, dates in a format,
codes of the code list); each proposal carries its evidence and a confidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connectors import paths
from gateway.mapping.casts import text
from gateway.mapwizard.names import similarity, split_unit
from gateway.mapwizard.packed import constant_parts, is_packed
from gateway.mapwizard.targets import Alias, Target
from gateway.mapwizard.units import factor_from_names, factor_from_range, fits
from gateway.mapwizard.values import Values, date_format, match_codes, separator

NUMBERED = re.compile(r"^\D+(\d+)$")
ACCEPT = 0.55  # below this a pairing is not proposed
NAME_WEIGHT = 0.65


@dataclass
class Proposal:
    """A drafted rule for one property: the rule as YAML-ready data, why, how sure."""

    target: Target
    field: str
    rule: str | dict[str, Any]
    confidence: float
    evidence: list[str] = field(default_factory=list)
    code_notes: dict[str, str] = field(default_factory=dict)
    unmatched_codes: list[str] = field(default_factory=list)
    # (source field, share tag): what the rule reads; rules with tags may share a field
    # (a max and a sum over the same columns), else a field serves one rule
    claims: list[tuple[str, str | None]] = field(default_factory=list)

    def claimed(self) -> list[tuple[str, str | None]]:
        return self.claims or [(self.field, None)]


def source_name(name: str) -> str:
    """A field name as a mapping's `from` reads it: escaped when it is no valid path."""
    try:
        paths.parse(name)
    except paths.PathError:
        return paths.escape(name)
    return name


def _best_alias(field_name: str, target: Target) -> tuple[float, Alias]:
    scored = [(similarity(field_name, a.name), a) for a in target.aliases]
    return max(scored, key=lambda s: (s[0], bool(s[1].append)))  # a street with its number


def propose(target: Target, field_name: str, values: Values, fields: list[str]) -> Proposal:
    """The rule for `target` read from `field_name`, scored."""
    name_score, alias = _best_alias(field_name, target)
    evidence = [f"name ~ '{alias.name}' ({name_score:.0%})"]
    rule: dict[str, Any] = {"from": source_name(field_name)}
    proposal = Proposal(target, field_name, rule, 0.0, evidence)
    value_score = _values(proposal, values, alias, field_name)
    if alias.append:
        _append(proposal, alias, fields)
    confidence = NAME_WEIGHT * name_score + (1 - NAME_WEIGHT) * value_score
    if values.values and value_score == 0.0:  # the values cannot be this property's
        confidence /= 2
    proposal.confidence = round(confidence, 2)
    if isinstance(proposal.rule, dict) and list(proposal.rule) == ["from"]:
        proposal.rule = proposal.rule["from"]
    return proposal


def _values(p: Proposal, values: Values, alias: Alias, field_name: str) -> float:
    """Fill the rule from the values; give how well they fit the property (0..1)."""
    target, rule = p.target, p.rule
    assert isinstance(rule, dict)
    if not values.values:
        p.evidence.append("no values in the sample")
        return 0.0
    if target.codes is not None:
        return _codes(p, values)
    if target.format in ("date", "date-time"):
        found = date_format(values)
        if found is None:
            p.evidence.append("values are no dates")
            return 0.0
        rule["type"] = "datetime" if target.format == "date-time" else "date"
        if found[1]:
            rule["format"] = found[1]
        p.evidence.append(f"dates as {found[1] or 'ISO 8601'}")
        return 1.0
    if target.scalar_type in ("integer", "number"):
        return _numbers(p, values, alias, field_name)
    if is_packed(values.values):
        p.evidence.append("packed text ('[a: …|b: …]'): a mapping cannot take it apart")
        return 0.0
    if target.pattern or target.format == "uri":
        return _pattern(p, values)
    if any(isinstance(v, int | float) and not isinstance(v, bool) for v in values.values):
        rule["type"] = "string"
        p.evidence.append("numbers, cast to text")
        return 0.3
    p.evidence.append("text values")
    return 0.6


def _pattern(p: Proposal, values: Values) -> float:
    """Text the profile constrains (a pattern, a URI): the share of values that fit."""
    target = p.target
    expr = re.compile(target.pattern or r"^[a-z][a-z0-9+.-]*://\S+$")
    share = sum(bool(expr.search(text(v))) for v in values.values) / len(values.values)
    what = f"the pattern {target.pattern}" if target.pattern else "URLs"
    p.evidence.append(
        f"{share:.0%} are {what}" if not target.pattern else f"{share:.0%} match {what}"
    )
    return share


def _numbers(p: Proposal, values: Values, alias: Alias, field_name: str) -> float:
    target, rule = p.target, p.rule
    assert isinstance(rule, dict)
    if not values.numeric and len(values.numbers) < 0.9 * len(values.values):
        return _numbered(p, values)
    rule["type"] = target.scalar_type
    factor = alias.factor
    if alias.factor != 1.0:
        p.evidence.append(f"x{alias.factor:g}: {alias.why}")
    unit = factor_from_names(split_unit(field_name)[1], target) or factor_from_range(
        [n * factor for n in values.numbers], target
    )
    if unit is not None and unit[0] != 1.0:
        factor *= unit[0]
        p.evidence.append(f"x{unit[0]:g}: {unit[1]}")
    if factor != 1.0:
        rule["factor"] = factor
    share = fits(values.numbers, target, factor)
    p.evidence.append(f"{share:.0%} in {target.minimum:g}..{target.maximum:g} {target.unit or ''}")
    return share


def _numbered(p: Proposal, values: Values) -> float:
    """Text that ends in a number ('LoD2') read as that number, through a code list."""
    target, rule = p.target, p.rule
    assert isinstance(rule, dict)
    found = {v: NUMBERED.match(v) for v in values.distinct()}
    if not all(found.values()):
        p.evidence.append("values are not numbers")
        return 0.0
    codes = {v: int(m.group(1)) for v, m in found.items() if m}
    if not all(target.minimum <= n <= target.maximum for n in codes.values()):
        p.evidence.append("values are not numbers in range")
        return 0.0
    rule["codes"] = codes
    p.evidence.append("text ending in a number: that number")
    return 0.9


def _codes(p: Proposal, values: Values) -> float:
    target, rule = p.target, p.rule
    assert isinstance(rule, dict)
    distinct = values.distinct()
    sep = separator(values) if target.many else None
    if sep is not None:
        rule["split"] = sep
        items = {i.strip() for v in distinct for i in v.split(sep) if i.strip()}
        distinct = sorted(items)
    found = match_codes(distinct, target)
    p.code_notes, p.unmatched_codes = found.how, found.unmatched
    if not found.identity:
        rule["codes"] = found.codes
    p.evidence.append(
        f"{len(found.codes)}/{len(distinct)} values on the code list"
        + (" as they are" if found.identity else "")
    )
    return found.share


def _append(p: Proposal, alias: Alias, fields: list[str]) -> None:
    """Complete the field with a companion (a street with its house number)."""
    for other in fields:
        if other != p.field and any(similarity(other, a) >= 0.9 for a in alias.append):
            first, second = source_name(p.field), source_name(other)
            p.rule = {"template": f"{{{first}}} {{{second}}}"}
            p.evidence.append(f"with '{other}' appended")
            return


def constants(target: Target, columns: dict[str, Values]) -> Proposal | None:
    """A constant for `target` from a part of packed text that never changes."""
    for name, values in columns.items():
        if not is_packed(values.values):
            continue
        for part, value in constant_parts(values.values).items():
            score, alias = _best_alias(part, target)
            fits = not target.pattern or re.search(target.pattern, value)
            if score >= 0.9 and fits:
                evidence = [f"every sampled '{name}' says {part}: {value}"]
                return Proposal(target, name, {"constant": value}, 0.6, evidence)
    return None


def assign(proposals: list[Proposal]) -> dict[str, Proposal]:
    """Best first: each property gets one field and each field serves one property."""
    chosen: dict[str, Proposal] = {}
    used: dict[str, set[str | None]] = {}
    for p in sorted(proposals, key=lambda p: -p.confidence):
        if p.confidence < ACCEPT or p.target.name in chosen or _taken(p, used):
            continue
        chosen[p.target.name] = p
        for name, tag in p.claimed():
            used.setdefault(name, set()).add(tag)
    return chosen


def _taken(p: Proposal, used: dict[str, set[str | None]]) -> bool:
    """Whether a field the proposal reads serves another rule it cannot share with."""
    for name, tag in p.claimed():
        tags = used.get(name)
        if tags and (tag is None or None in tags):
            return True
    return False
