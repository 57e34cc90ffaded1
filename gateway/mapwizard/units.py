"""Unit factors: from the unit a field's name gives ('hoehe_cm', '[W]') to the profile's
UCUM unit; without one, from the value range (heights of 2790 are centimetres)."""

from __future__ import annotations

import statistics

from gateway.mapwizard.targets import Target

# unit -> (dimension, size in the dimension's base unit)
SIZES: dict[str, tuple[str, float]] = {
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "dm": ("length", 0.1),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "w": ("power", 1.0),
    "kw": ("power", 1000.0),
    "mw": ("power", 1e6),
    "m2": ("area", 1.0),
    "qm": ("area", 1.0),
    "ha": ("area", 1e4),
}
RANGE_FACTORS = (0.01, 0.001, 0.1, 100.0, 1000.0, 10.0)


def factor_from_names(field_unit: str | None, target: Target) -> tuple[float, str] | None:
    """The factor from the field's named unit to the target's, when both are known."""
    if field_unit is None or target.unit is None:
        return None
    mine, theirs = SIZES.get(field_unit.lower()), SIZES.get(target.unit.lower())
    if mine is None or theirs is None or mine[0] != theirs[0]:
        return None
    return mine[1] / theirs[1], f"the name says {field_unit}, the profile wants {target.unit}"


def fits(numbers: list[float], target: Target, factor: float) -> float:
    """Share of the values inside the profile's range after the factor."""
    if not numbers:
        return 0.0
    inside = sum(target.minimum <= n * factor <= target.maximum for n in numbers)
    return inside / len(numbers)


def factor_from_range(numbers: list[float], target: Target) -> tuple[float, str] | None:
    """A power-of-ten factor when the values do not fit the profile's range as they are
    but do after it (a guess: the comment says so)."""
    if not numbers or target.maximum == float("inf") or fits(numbers, target, 1.0) >= 0.95:
        return None
    median = statistics.median(numbers)
    for factor in RANGE_FACTORS:
        if fits(numbers, target, factor) >= 0.95:
            return factor, (
                f"values (median {median:g}) exceed {target.minimum:g}..{target.maximum:g}"
                f" {target.unit or ''}; x{factor:g} fits"
            )
    return None
