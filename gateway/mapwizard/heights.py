"""Heights above the terrain that a source gives as elevations above the datum (the AdV
CityGML attributes HoeheDach and NiedrigsteTraufeDesGebaeudes beside HoeheGrund): drafted
as their difference to the terrain column, where the profile says the height is `above`
that property and the values show it: at or above the terrain in (almost) every record,
and more terrain than building (a relative height over a low terrain stays as it is)."""

from __future__ import annotations

import statistics
from typing import Any

from gateway.mapping.casts import to_number
from gateway.mapwizard.match import NAME_WEIGHT, Proposal, source_name
from gateway.mapwizard.names import similarity
from gateway.mapwizard.targets import Target
from gateway.mapwizard.values import Values

NAMED = 0.8  # a column named like one of the profile's absolute heights
AT_OR_ABOVE = 0.95
FITS = 0.9


def relative_heights(
    chosen: dict[str, Proposal],
    wanted: list[Target],
    columns: dict[str, Values],
    raw: dict[str, list[Any]],
) -> None:
    """Replace (or add) the rule of each height the sample shows to be absolute."""
    for target in wanted:
        ground = chosen.get(str(target.hints.get("above", "")))
        if ground is None or not _plain(ground):
            continue
        taken = {p.field for n, p in chosen.items() if n != target.name}
        for name, score in _candidates(target, chosen.get(target.name), columns, taken):
            evidence = absolute(raw[name], raw[ground.field], target, name, ground.field)
            if evidence is not None:
                rule = {"difference": [source_name(name), source_name(ground.field)]}
                confidence = round(NAME_WEIGHT * score + (1 - NAME_WEIGHT), 2)
                chosen[target.name] = Proposal(target, name, rule, confidence, evidence)
                break


def _plain(p: Proposal) -> bool:
    """A rule that reads one column as it is (no factor, no code list)."""
    return isinstance(p.rule, str) or set(p.rule) <= {"from", "type"}


def _candidates(
    target: Target, current: Proposal | None, columns: dict[str, Values], taken: set[str]
) -> list[tuple[str, float]]:
    """Numeric columns named like an absolute height, best first, then the one drafted."""
    found = []
    for name, values in columns.items():
        if name in taken or not values.numeric or not target.absolute:
            continue
        score = max(similarity(name, a.name) for a in target.absolute)
        if score >= NAMED:
            found.append((score, name))
    out = [(name, score) for score, name in sorted(found, reverse=True)]
    if current is not None and _plain(current) and current.field not in dict(out):
        out.append((current.field, current.confidence))
    return out


def absolute(
    values: list[Any], terrain: list[Any], target: Target, name: str, ground: str
) -> list[str] | None:
    """The evidence that `values` are elevations above the datum, or None."""
    pairs = [
        (v, g)
        for a, b in zip(values, terrain, strict=True)
        if (v := _n(a)) is not None and (g := _n(b)) is not None
    ]
    if len(pairs) < 3:
        return None
    above = sum(v >= g for v, g in pairs) / len(pairs)
    diffs = [v - g for v, g in pairs]
    grounds = [g for _, g in pairs]
    height, level = statistics.median(diffs), statistics.median(grounds)
    fits = sum(target.minimum <= d <= target.maximum for d in diffs) / len(diffs)
    if above < AT_OR_ABOVE or not 0 <= height < level or fits < FITS:
        return None
    tops = [v for v, _ in pairs]
    return [
        f"'{name}' {min(tops):g}..{max(tops):g} is at or above '{ground}'"
        f" {min(grounds):g}..{max(grounds):g} in {above:.0%} of records: an elevation",
        f"the difference {min(diffs):.3g}..{max(diffs):.3g} (median {height:.3g}) is the height"
        f" above the terrain the profile wants",
    ]


def _n(value: Any) -> float | None:
    return None if value in (None, "") else to_number(value)
