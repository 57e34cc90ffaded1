"""Synthetic street trees: rows of trees along real street names in real districts.

Each street becomes a straight segment near its district's centre; trees stand on both sides
of it with house numbers rising along it (odd on one side, even on the other). Sizes follow
the tree's age and its genus. Everything comes from the `random.Random` passed in, so one seed
gives one city.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from gateway.demo.places import Box, District
from gateway.demo.species import GENERA, Species

SURVEY_YEAR = 2024
T = TypeVar("T")


@dataclass(frozen=True)
class Street:
    name: str
    district: str
    start: tuple[float, float]
    direction: tuple[float, float]  # unit vector
    length: float


@dataclass(frozen=True)
class Tree:
    species: Species
    planting_year: int | None
    height_m: float | None
    crown_diameter_m: float | None
    trunk_circumference_cm: int | None
    district: str
    street: str | None
    house_number: str | None
    x: float
    y: float
    updated: date


@dataclass(frozen=True)
class Gaps:
    """Share of records with an empty cell, per field (real cadastres have them)."""

    planting_year: float = 0.08
    height: float = 0.03
    crown: float = 0.03
    trunk: float = 0.02
    street: float = 0.0


def _inside(box: Box, x: float, y: float) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def lay_out_streets(
    rng: random.Random,
    districts: Sequence[District],
    box: Box,
    accept: Callable[[str, float, float], bool] | None = None,
) -> list[Street]:
    """One segment per street name, both ends inside the box (and accepted, if asked)."""
    streets = []
    for district in districts:
        for name in district.streets:
            for _ in range(200):
                cx, cy = district.centre
                x0 = rng.gauss(cx, district.spread / 2)
                y0 = rng.gauss(cy, district.spread / 2)
                angle = rng.uniform(0, math.pi)
                length = rng.uniform(300, 1200)
                dx, dy = math.cos(angle), math.sin(angle)
                x1, y1 = x0 + dx * length, y0 + dy * length
                ends = ((x0, y0), (x1, y1))
                if all(
                    _inside(box, *p) and (accept is None or accept(district.name, *p)) for p in ends
                ):
                    break
            else:
                raise RuntimeError(f"no place for {name} in {district.name}")
            streets.append(Street(name, district.name, (x0, y0), (dx, dy), length))
    return streets


def _maybe(rng: random.Random, share: float, value: T) -> T | None:
    return None if rng.random() < share else value


def _species(rng: random.Random) -> tuple[Species, float]:
    genera = list(GENERA)
    genus = rng.choices(genera, weights=[GENERA[g][0] for g in genera])[0]
    _, max_height, species = GENERA[genus]
    return rng.choice(species), max_height


def _sizes(rng: random.Random, age: int, max_height: float) -> tuple[float, float, int]:
    """Height (m), crown diameter (m) and trunk circumference (cm) for a tree of this age."""
    vigour = rng.uniform(0.75, 1.1)
    height = min(max_height, 2.5 + max_height * (1 - math.exp(-age / 35)) * vigour)
    crown = height * rng.uniform(0.45, 0.75)
    trunk = max(12, min(650, round(age * 2.4 * vigour + rng.gauss(0, 12))))
    return round(height, 1), round(crown, 1), trunk


def _position(rng: random.Random, street: Street) -> tuple[float, float, float, int]:
    """(x, y, distance along, side) of a tree beside the street."""
    along = rng.uniform(0, street.length)
    side = rng.choice((-1, 1))
    dx, dy = street.direction
    offset = side * rng.uniform(4.0, 8.0)
    x = street.start[0] + dx * along - dy * offset
    y = street.start[1] + dy * along + dx * offset
    return x, y, along, side


def _house_number(rng: random.Random, along: float, side: int) -> str:
    number = 2 * int(along // 30) + (1 if side < 0 else 2)
    return f"{number}{'a' if rng.random() < 0.05 else ''}"


def plant(
    rng: random.Random, streets: Sequence[Street], count: int, box: Box, gaps: Gaps
) -> list[Tree]:
    """`count` trees along the streets, inside the box."""
    trees = []
    first_survey = date(2019, 1, 1)
    survey_days = (date(SURVEY_YEAR, 12, 31) - first_survey).days
    for _ in range(count):
        street = rng.choice(streets)
        x, y, along, side = _position(rng, street)
        x = min(max(x, box[0]), box[2])
        y = min(max(y, box[1]), box[3])
        species, max_height = _species(rng)
        age = max(2, round(rng.triangular(2, 130, 30)))
        height, crown, trunk = _sizes(rng, age, max_height)
        on_street = rng.random() >= gaps.street
        trees.append(
            Tree(
                species=species,
                planting_year=_maybe(rng, gaps.planting_year, SURVEY_YEAR - age),
                height_m=_maybe(rng, gaps.height, height),
                crown_diameter_m=_maybe(rng, gaps.crown, crown),
                trunk_circumference_cm=_maybe(rng, gaps.trunk, trunk),
                district=street.district,
                street=street.name if on_street else None,
                house_number=_house_number(rng, along, side) if on_street else None,
                x=round(x, 2),
                y=round(y, 2),
                updated=first_survey + timedelta(days=rng.randrange(survey_days + 1)),
            )
        )
    return trees
