"""Demo buildings of Leipzig and München, each in the shape its source would have.

- Leipzig (`leipzig-gebaeude.gpkg`, EPSG:25833): a GeoPackage layer exported from ALKIS
  (AX_Gebaeude) as OGR writes one: MultiPolygon footprints, the numeric ALKIS codes of
  Gebäudefunktion, Dachform and Zustand (null for a building in use: ALKIS has no code for
  it), anzahlDerOberirdischenGeschosse, objekthoehe in m, baujahr, grundflaeche, the
  Lagebezeichnung as one text, the object id and `beginnt` (start of the object version);
  the city added the terrain height from its DGM (DHHN2016) and, where its surveyors
  measured them, eaves and ridge heights. A footprint with a height: LoD1.
- München (`muenchen-gebaeude.geojson`, EPSG:31468, Gauß-Krüger zone 4, Bavaria's former
  system, named by the legacy `crs` member): a CityGML LoD2 model flattened to GeoJSON:
  Polygon footprints, `function` as the AdV code "31001_<Gebäudefunktion>", `roofType` as
  German text, `measuredHeight` in cm, the roof edges as Bavaria's LoD2 attributes give
  them: absolute heights in m (DHHN2016) `NiedrigsteTraufeDesGebaeudes` (eaves) and
  `HoeheDach` (ridge), with the terrain `HoeheGrund` in m (so the heights above ground are
  differences), `storeysAboveGround`, `yearOfConstruction` as gYear text,
  `conditionOfConstruction`, `lod` ("LoD2", "LoD1" where no roof was modelled), the
  converter's `groundSurfaceArea` (m², LoD2 only), `creationDate`.

Buildings stand in rows on both sides of real streets of the districts in places.py
(rectangles and L-shapes, terraced or detached), with heights that follow their function,
storeys and roof; a sample of each city's rows is kept, so the files stay small. One seed
gives the same bytes.
"""

from __future__ import annotations

import json
import math
import random
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from gateway.demo.gpkg import PointTable, write_features
from gateway.demo.places import LEIPZIG, MUENCHEN, District

T = TypeVar("T")
BUILDING_FILES = {"leipzig": "leipzig-gebaeude.gpkg", "muenchen": "muenchen-gebaeude.geojson"}
BUILDING_COUNTS = {"leipzig": 240, "muenchen": 200}
BUILDING_CRS = {"leipzig": "EPSG:25833", "muenchen": "EPSG:31468"}
STREET_SPACING = 160.0  # m between parallel streets of a district: rows never meet
ROW_LENGTH = (90.0, 160.0)  # m of a street built up on each side
TERRACE_JOINT = 0.05  # m between terraced houses: walls rounded to the cm never overlap

# AdV Dachform code -> German name (München writes the name) and roof rise per metre of span.
DACHFORM = {
    "1000": ("Flachdach", 0.0),
    "2100": ("Pultdach", 0.15),
    "3100": ("Satteldach", 0.45),
    "3200": ("Walmdach", 0.4),
    "3300": ("Krüppelwalmdach", 0.42),
    "3400": ("Mansardendach", 0.55),
    "3800": ("Sheddach", 0.2),
    "3900": ("Bogendach", 0.15),
}
# ALKIS Zustand code -> CityGML 3.0 conditionOfConstruction; None: in use (functional).
ZUSTAND = {None: "functional", "2100": "declined", "3000": "projected", "4000": "underConstruction"}
ZUSTAND_WEIGHTS = (95, 1, 1, 3)


@dataclass(frozen=True)
class Kind:
    """A kind of building: its ALKIS Gebäudefunktion and how such buildings are built."""

    code: str
    weight: int
    storeys: tuple[int, int]
    storey_m: float
    roofs: dict[str, int]  # Dachform code -> weight
    width: tuple[float, float]  # frontage along the street, m
    depth: tuple[float, float]
    years: tuple[int, int]
    basement: float = 0.7  # share with a storey below ground
    wing: bool = True  # may be L-shaped


# fmt: off
KINDS = (
    Kind("1010", 34, (2, 5), 3.0, {"3100": 6, "3200": 2, "3400": 2, "1000": 2, "3300": 1},
         (10, 20), (10, 14), (1870, 2023)),  # Wohnhaus
    Kind("1020", 3, (5, 11), 2.8, {"1000": 1}, (36, 60), (11, 13), (1965, 1990)),  # Wohnheim
    Kind("1123", 14, (4, 6), 3.3, {"3100": 3, "3400": 2, "1000": 2, "3200": 1},
         (14, 24), (12, 16), (1875, 2020)),  # Wohn- und Geschäftsgebäude
    Kind("2020", 7, (3, 9), 3.6, {"1000": 6, "2100": 1}, (20, 45), (12, 18),
         (1955, 2023)),  # Bürogebäude
    Kind("2050", 5, (1, 4), 4.2, {"1000": 4, "3100": 1}, (15, 35), (12, 25),
         (1950, 2022)),  # Geschäftsgebäude
    Kind("2071", 2, (4, 8), 3.2, {"1000": 2, "3400": 1}, (20, 35), (12, 16),
         (1900, 2020)),  # Hotel, Motel, Pension
    Kind("2111", 3, (1, 3), 5.5, {"1000": 2, "3800": 2, "3900": 1}, (30, 60), (20, 40),
         (1880, 2010), basement=0.1, wing=False),  # Fabrik
    Kind("2143", 2, (1, 1), 7.5, {"1000": 2, "2100": 1, "3100": 1}, (20, 50), (15, 30),
         (1960, 2020), basement=0.0, wing=False),  # Lagerhalle
    Kind("2463", 8, (1, 1), 2.6, {"1000": 3, "2100": 1}, (3, 6), (5, 7), (1955, 2015),
         basement=0.0, wing=False),  # Garage
    Kind("3010", 2, (3, 5), 3.8, {"3200": 2, "1000": 1, "3400": 1}, (25, 45), (14, 18),
         (1890, 2010)),  # Verwaltungsgebäude
    Kind("3021", 3, (2, 4), 3.8, {"1000": 2, "3100": 1, "3200": 1}, (35, 60), (12, 16),
         (1900, 2022)),  # Allgemein bildende Schule
    Kind("3041", 1, (1, 1), 14.0, {"3100": 1}, (14, 20), (30, 45), (1200, 1910),
         basement=0.2, wing=False),  # Kirche
    Kind("3051", 1, (4, 7), 3.8, {"1000": 1}, (40, 70), (14, 18), (1900, 2015)),  # Krankenhaus
    Kind("3065", 2, (1, 2), 3.3, {"1000": 1, "2100": 1, "3100": 1}, (15, 25), (10, 14),
         (1970, 2023), basement=0.2),  # Kindertagesstätte
    Kind("3211", 1, (1, 1), 8.0, {"3900": 1, "1000": 1}, (25, 45), (20, 30), (1960, 2020),
         basement=0.1, wing=False),  # Sport-, Turnhalle
)
# fmt: on
# When a city's buildings were built: (first year, last year, weight).
ERAS = {
    "leipzig": ((1870, 1914, 5), (1919, 1939, 1), (1960, 1989, 2), (1991, 2023, 2)),
    "muenchen": ((1880, 1914, 2), (1919, 1939, 1), (1950, 1975, 4), (1976, 2023, 3)),
}


@dataclass(frozen=True)
class Building:
    """One building in its city's storage CRS, in ALKIS terms (each writer speaks its own)."""

    kind: Kind
    roof: str  # Dachform code
    zustand: str | None
    storeys: int
    below: int
    height_m: float
    eaves_m: float
    ridge_m: float
    ground_m: float
    year: int | None
    street: str
    house_number: str
    district: str
    footprint: Polygon


def _ground(city: str, x: float, y: float, rng: random.Random) -> float:
    """Terrain elevation (m, DHHN2016): Leipzig's lowland, München rising to the south."""
    if city == "leipzig":
        z = 112 + 6 * math.sin(x / 1800) + 4 * math.cos(y / 2300)
    else:
        z = 519 + (5334700 - y) * 0.004 + 3 * math.sin(x / 1500)
    return round(z + rng.uniform(-0.3, 0.3), 2)


def _heights(
    rng: random.Random, kind: Kind, storeys: int, roof: str, span: float
) -> tuple[float, float, float]:
    """(height of the highest point, eaves, ridge) above the ground, m."""
    if kind.code == "3041":  # a church: nave and a tower above it
        eaves = rng.uniform(12, 18)
        ridge = eaves + 0.6 * span
        return round(ridge + rng.uniform(15, 45), 1), round(eaves, 1), round(ridge, 1)
    eaves = storeys * kind.storey_m * rng.uniform(0.95, 1.05) + 0.3
    # a flat roof's parapet; a pitched roof rises with its span, a hall's no more than 7 m
    rise = rng.uniform(0.3, 0.9) if roof == "1000" else min(DACHFORM[roof][1] * span, 7.0)
    ridge = eaves + rise
    return round(ridge, 1), round(eaves, 1), round(ridge, 1)


def _shape(rng: random.Random, kind: Kind, u0: float, width: float) -> list[tuple[float, float]]:
    """The footprint in street coordinates (u along the street, v away from it)."""
    setback = rng.uniform(7.0, 11.0)
    depth = rng.uniform(*kind.depth)
    front, back = setback, setback + depth
    if not kind.wing or rng.random() >= 0.3:
        return [(u0, front), (u0 + width, front), (u0 + width, back), (u0, back)]
    wing, reach = width * rng.uniform(0.3, 0.5), back + rng.uniform(6.0, 14.0)
    if rng.random() < 0.5:  # the wing at the start of the frontage
        corners = [(u0 + width, back), (u0 + wing, back), (u0 + wing, reach), (u0, reach)]
    else:
        end = u0 + width - wing
        corners = [(u0 + width, reach), (end, reach), (end, back), (u0, back)]
    return [(u0, front), (u0 + width, front), *corners]


def _place(
    points: list[tuple[float, float]], start: tuple[float, float], angle: float, side: int
) -> Polygon:
    dx, dy = math.cos(angle), math.sin(angle)
    world = [
        (round(start[0] + dx * u - dy * v * side, 2), round(start[1] + dy * u + dx * v * side, 2))
        for u, v in points
    ]
    return orient(Polygon(world), 1.0)  # counter-clockwise, as GeoJSON wants it


def _row(
    rng: random.Random, city: str, district: District, street: str, origin: tuple, angle: float
) -> list[Building]:
    """Buildings on both sides of one street, house numbers odd left and even right."""
    kinds = list(KINDS)
    weights = [k.weight for k in kinds]
    eras = ERAS[city]
    row = []
    for side, first in ((-1, 1), (1, 2)):
        u, number, length = 0.0, first, rng.uniform(*ROW_LENGTH)
        while u < length:
            kind = rng.choices(kinds, weights=weights)[0]
            width = rng.uniform(*kind.width)
            footprint = _place(_shape(rng, kind, u, width), origin, angle, side)
            u += width + (TERRACE_JOINT if rng.random() < 0.6 else rng.uniform(2.0, 8.0))
            storeys = rng.randint(*kind.storeys)
            roof = rng.choices(list(kind.roofs), weights=list(kind.roofs.values()))[0]
            height, eaves, ridge = _heights(rng, kind, storeys, roof, min(width, kind.depth[1]))
            zustand = rng.choices(list(ZUSTAND), weights=ZUSTAND_WEIGHTS)[0]
            lo, hi, _ = rng.choices(eras, weights=[e[2] for e in eras])[0]
            year = min(max(rng.randint(lo, hi), kind.years[0]), kind.years[1])
            centre = footprint.centroid
            row.append(
                Building(
                    kind=kind,
                    roof=roof,
                    zustand=zustand,
                    storeys=storeys,
                    below=int(rng.random() < kind.basement) * rng.choice((1, 1, 1, 2)),
                    height_m=height,
                    eaves_m=eaves,
                    ridge_m=ridge,
                    ground_m=_ground(city, centre.x, centre.y, rng),
                    year=None if zustand in ("3000", "4000") else year,
                    street=street,
                    house_number=f"{number}{'a' if rng.random() < 0.05 else ''}",
                    district=district.name,
                    footprint=footprint,
                )
            )
            number += 2
    return row


def buildings(city: str, seed: int) -> list[Building]:
    """`BUILDING_COUNTS[city]` buildings sampled from rows along every district's streets,
    in the city's storage CRS (Leipzig 25833, München 25832 before it is written in 31468)."""
    rng = random.Random(seed * 100 + (21 if city == "leipzig" else 22))
    every: list[Building] = []
    for district in LEIPZIG if city == "leipzig" else MUENCHEN:
        angle = rng.uniform(0, math.pi)
        for k, street in enumerate(district.streets):
            offset = (k - (len(district.streets) - 1) / 2) * STREET_SPACING
            cx, cy = district.centre
            origin = (cx - math.sin(angle) * offset, cy + math.cos(angle) * offset)
            every += _row(rng, city, district, street, origin, angle)
    keep = sorted(rng.sample(range(len(every)), BUILDING_COUNTS[city]))
    return [every[i] for i in keep]


def _updated(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _maybe(rng: random.Random, share: float, value: T) -> T | None:
    return None if rng.random() < share else value


LEIPZIG_COLUMNS = (
    ("gml_id", "TEXT NOT NULL UNIQUE"),
    ("gebaeudefunktion", "INTEGER"),
    ("dachform", "INTEGER"),
    ("zustand", "INTEGER"),
    ("anzahlDerOberirdischenGeschosse", "INTEGER"),
    ("anzahlDerUnterirdischenGeschosse", "INTEGER"),
    ("objekthoehe", "REAL"),
    ("traufhoehe", "REAL"),
    ("firsthoehe", "REAL"),
    ("hoehe_gelaende", "REAL"),
    ("baujahr", "INTEGER"),
    ("grundflaeche", "INTEGER"),
    ("lagebezeichnung", "TEXT"),
    ("ortsteil", "TEXT"),
    ("beginnt", "TEXT"),
)
_OID_CHARS = string.digits + string.ascii_uppercase


def _leipzig_row(rng: random.Random, b: Building) -> tuple:
    oid = "DESNAL" + "".join(rng.choices(_OID_CHARS, k=10))
    measured = rng.random() < 0.35  # eaves and ridge surveyed
    garage = b.kind.code == "2463"
    moment = datetime.combine(
        _updated(rng, date(2012, 1, 1), date(2024, 11, 30)), datetime.min.time()
    )
    moment += timedelta(seconds=rng.randrange(6 * 3600, 18 * 3600))
    return (
        oid,
        int(b.kind.code),
        _maybe(rng, 0.1, int(b.roof)),
        None if b.zustand is None else int(b.zustand),
        b.storeys,
        _maybe(rng, 0.3, b.below),
        _maybe(rng, 0.05, b.height_m),
        b.eaves_m if measured else None,
        b.ridge_m if measured else None,
        b.ground_m,
        _maybe(rng, 0.2, b.year),
        max(1, round(b.footprint.area)),
        None if garage else f"{b.street} {b.house_number}",
        b.district,
        moment.isoformat() + "Z",
    )


def write_leipzig_buildings(path: Path, seed: int) -> int:
    rng = random.Random(seed * 100 + 23)
    rows = [(MultiPolygon([b.footprint]), _leipzig_row(rng, b)) for b in buildings("leipzig", seed)]
    table = PointTable(
        name="ax_gebaeude",
        identifier="Gebäude Leipzig (ALKIS, Demo)",
        description="Synthetic buildings in the style of an ALKIS AX_Gebaeude export",
        columns=LEIPZIG_COLUMNS,
        srs_id=25833,
        geometry_type="MULTIPOLYGON",
    )
    write_features(path, table, rows)
    return len(rows)


def _cm(value: float | None) -> int | None:
    return None if value is None else round(value * 100)


def _above_sea(b: Building, height: float) -> float:
    """An absolute height (m, DHHN2016), as Bavaria's LoD2 attributes give roof edges."""
    return round(b.ground_m + height, 2)


def _muenchen_properties(rng: random.Random, b: Building, number: int, area: float) -> dict:
    lod2 = rng.random() >= 0.1
    return {
        "gml_id": f"DEBY_LOD2_{number}",
        "function": f"31001_{b.kind.code}",
        "roofType": DACHFORM[b.roof][0] if lod2 else None,
        "conditionOfConstruction": ZUSTAND[b.zustand],
        "measuredHeight": _cm(b.height_m),
        "measuredHeight_uom": "cm",
        "NiedrigsteTraufeDesGebaeudes": _above_sea(b, b.eaves_m) if lod2 else None,
        "HoeheDach": _above_sea(b, b.ridge_m) if lod2 else None,
        "HoeheGrund": b.ground_m,
        "groundSurfaceArea": round(area, 1) if lod2 else None,
        "storeysAboveGround": _maybe(rng, 0.15, b.storeys),
        "storeysBelowGround": _maybe(rng, 0.15, b.below),
        "yearOfConstruction": None if b.year is None else _maybe(rng, 0.1, str(b.year)),
        "lod": "LoD2" if lod2 else "LoD1",
        "streetName": b.street,
        "houseNumber": b.house_number,
        "cityDistrict": b.district,
        "creationDate": _updated(rng, date(2021, 3, 1), date(2024, 10, 31)).isoformat(),
    }


def write_muenchen_buildings(path: Path, seed: int) -> int:
    """GeoJSON in EPSG:31468, one feature per line, the CRS in the legacy `crs` member."""
    rng = random.Random(seed * 100 + 24)
    to_gk4 = Transformer.from_crs("EPSG:25832", BUILDING_CRS["muenchen"], always_xy=True)
    features, number = [], 4_700_000
    for b in buildings("muenchen", seed):
        number += rng.randint(1, 40)
        footprint = shapely.transform(b.footprint, lambda xy: _transformed(to_gk4, xy))
        features.append(
            {
                "type": "Feature",
                "id": f"DEBY_LOD2_{number}",
                "geometry": shapely.geometry.mapping(footprint),
                "properties": _muenchen_properties(rng, b, number, footprint.area),
            }
        )
    head = {
        "type": "FeatureCollection",
        "name": "Gebaeude_LoD2",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::31468"}},
    }
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[\n' + ",\n".join(lines)
    path.write_text(text + "\n]}\n", encoding="utf-8")
    return len(features)


def _transformed(transformer: Transformer, xy: np.ndarray) -> np.ndarray:
    """Coordinates moved to the file's CRS, rounded to the centimetre."""
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([x, y]), 2)


def write_buildings(outdir: Path, seed: int) -> dict[str, int]:
    """Both cities' files into `outdir`; returns city -> building count."""
    return {
        "leipzig": write_leipzig_buildings(outdir / BUILDING_FILES["leipzig"], seed),
        "muenchen": write_muenchen_buildings(outdir / BUILDING_FILES["muenchen"], seed),
    }
