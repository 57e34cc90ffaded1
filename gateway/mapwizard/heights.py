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
SHARED = 0.6  # 'low: check'


def relative_heights(
    chosen: dict[str, Proposal],
    wanted: list[Target],
    columns: dict[str, Values],
    raw: dict[str, list[Any]],
) -> None:
    """Replace (or add) the rule of each height the sample shows to be absolute: first
    from columns named like an absolute height, then from the column drafted by name."""
    heights = [t for t in wanted if _ground(t, chosen) is not None]
    drafted = {t.name: chosen.get(t.name) for t in heights}
    taken = {p.field for n, p in chosen.items() if n not in drafted}
    for target in heights:
        for name, score in _named(target, columns, taken):
            if _replace(chosen, target, name, round(NAME_WEIGHT * score + 1 - NAME_WEIGHT, 2), raw):
                taken.add(name)
                break
    for target in heights:
        current = drafted[target.name]
        if current is None or chosen[target.name] is not current or not _plain(current):
            continue
        shared = current.field in taken  # another height's column too: a person decides
        confidence = min(current.confidence, SHARED) if shared else current.confidence
        if _replace(chosen, target, current.field, confidence, raw) and shared:
            chosen[target.name].evidence.append(f"'{current.field}' serves another height too")


def _ground(target: Target, chosen: dict[str, Proposal]) -> Proposal | None:
    """The terrain's proposal, when the profile says the target is above it."""
    ground = chosen.get(str(target.hints.get("above", "")))
    return ground if ground is not None and _plain(ground) else None


def _replace(
    chosen: dict[str, Proposal],
    target: Target,
    name: str,
    confidence: float,
    raw: dict[str, list[Any]],
) -> bool:
    ground = _ground(target, chosen)
    assert ground is not None
    evidence = absolute(raw[name], raw[ground.field], target, name, ground.field)
    if evidence is None:
        return False
    rule = {"difference": [source_name(name), source_name(ground.field)]}
    chosen[target.name] = Proposal(target, name, rule, confidence, evidence)
    return True


def _plain(p: Proposal) -> bool:
    """A rule that reads one column as it is (no factor, no code list)."""
    return isinstance(p.rule, str) or set(p.rule) <= {"from", "type"}


def _named(target: Target, columns: dict[str, Values], taken: set[str]) -> list[tuple[str, float]]:
    """Numeric columns named like one of the target's absolute heights, best first."""
    found = []
    for name, values in columns.items():
        if name in taken or not values.numeric or not target.absolute:
            continue
        score = max(similarity(name, a.name) for a in target.absolute)
        if score >= NAMED:
            found.append((score, name))
    return [(name, score) for score, name in sorted(found, reverse=True)]


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
