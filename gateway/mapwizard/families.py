"""Numbered column families: one value per item spread over columns ('Steckertypen1'..
'Steckertypen4', 'Stecker1_Typ', 'typ_1'). A list property collects them; a number the
profile calls the maximum or the total of the items (its `aggregate` hint) is drafted as
that operation over them. Anything else keeps to one column."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from gateway.mapping.casts import to_number
from gateway.mapwizard.match import Proposal, propose, source_name
from gateway.mapwizard.targets import Target
from gateway.mapwizard.values import Values

NUMBER = re.compile(r"(?<![0-9])[0-9]{1,2}(?![0-9])")
PREFER_ONE_COLUMN = 0.95  # a column that holds the total itself beats adding up


@dataclass
class Family:
    stem: str  # the name without its number, as words: 'Steckertypen', 'Stecker _Typ'
    members: list[str]  # in the order of their numbers

    @property
    def label(self) -> str:
        return f"{self.members[0]}..{self.members[-1]}"


def families(names: list[str]) -> list[Family]:
    """Columns whose names differ only in one number counting up from 0 or 1."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for name in names:
        found = list(NUMBER.finditer(name))
        if len(found) == 1:
            m = found[0]
            key = f"{name[: m.start()]} {name[m.end() :]}".strip()
            groups.setdefault(key, []).append((int(m.group()), name))
    out = []
    for stem, items in groups.items():
        numbers = sorted(n for n, _ in items)
        if (
            len(items) >= 2
            and numbers[0] in (0, 1)
            and numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        ):
            out.append(Family(stem, [name for _, name in sorted(items)]))
    return out


def propose_family(target: Target, family: Family, raw: dict[str, list[Any]]) -> Proposal | None:
    """`collect:` for a list property, the profile's aggregate for a number; else None."""
    if target.many:
        return _collect(target, family, raw)
    if target.aggregate and target.scalar_type in ("integer", "number"):
        return _aggregate(target, family, raw, target.aggregate)
    return None


def _collect(target: Target, family: Family, raw: dict[str, list[Any]]) -> Proposal:
    pooled = Values(family.stem, [v for m in family.members for v in raw[m]])
    p = propose(target, family.stem, pooled, [])
    rule = p.rule if isinstance(p.rule, dict) else {"from": p.rule}
    rest = {k: v for k, v in rule.items() if k not in ("from", "factor", "offset")}
    p.rule = {"collect": [source_name(m) for m in family.members], **rest}
    p.field = family.label
    p.claims = [(m, None) for m in family.members]
    p.evidence.insert(0, f"{len(family.members)} numbered columns {family.label}, collected")
    return p


def _aggregate(target: Target, family: Family, raw: dict[str, list[Any]], key: str) -> Proposal:
    """The operation over the columns, scored on its values record by record."""
    per_record = []
    for row in zip(*(raw[m] for m in family.members), strict=True):
        numbers = [n for v in row if v not in (None, "") and (n := to_number(v)) is not None]
        if numbers:
            per_record.append({"max": max, "min": min, "sum": sum}[key](numbers))
    items = replace(target, aliases=target.per_item or target.aliases)
    p = propose(items, family.stem, Values(family.stem, per_record), [])
    p.target = target
    rule = p.rule if isinstance(p.rule, dict) else {"from": p.rule}
    factor = {"factor": rule["factor"]} if "factor" in rule else {}
    p.rule = {key: [source_name(m) for m in family.members], **factor}
    p.field = family.label
    p.claims = [(m, key) for m in family.members]
    p.confidence = round(p.confidence * PREFER_ONE_COLUMN, 2)
    p.evidence.insert(
        0,
        f"{key} over the {len(family.members)} numbered columns {family.label}: the profile's"
        f" {target.name} is their {key}",
    )
    return p
