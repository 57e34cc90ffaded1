"""Demo land-use plans (Bebauungspläne) of Hamburg and Leipzig in the flat XPlanSynWFS style.

XPlanSynWFS (xPlanBox) publishes XPlanung's BP_Plan as a flat feature type: XPlanung's
element names, enumeration codes beside their resolved German names (`planArt` /
`planArtWert`), data types flattened to bracketed text (`gemeinde`, `externeReferenz`). The
two cities here differ the way real services do:

- Hamburg (`hamburg-bplan.geojson`, EPSG:25832): XPlanSyn as xPlanBox writes it: codes and
  names, ISO dates, `gmlId` as the id, the plan document inside the flattened
  `externeReferenz` (`[URL | Rechtsplan]`, one per plan, drafts included).
- Leipzig (`leipzig-bplan.geojson`, EPSG:25833): only the resolved names (`planArtWert`,
  `rechtsstandWert`), dates as text dd.mm.yyyy, the plan manager's integer id, the document
  as a bare URL in `externeReferenz` for adopted plans only.

The plans are invented (real district names, approximate places); the codes, names and
dates follow XPlanung 6.0 (BP_PlanArt, BP_Rechtsstand). The same files are the embedded
demo's source and what MapServer serves over WFS in the tests (tests/xplan_fixtures.py).
"""

from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from gateway.demo.places import LEIPZIG

PLAN_FILES = {"hamburg": "hamburg-bplan.geojson", "leipzig": "leipzig-bplan.geojson"}
PLAN_COUNTS = {"hamburg": 40, "leipzig": 32}
AGS = {"hamburg": "02000000", "leipzig": "14713000"}
GEMEINDE = {"hamburg": "Hamburg", "leipzig": "Leipzig"}
CRS = {"hamburg": "EPSG:25832", "leipzig": "EPSG:25833"}
HAMBURG_DOCUMENTS = "https://bauleitplanung.hamburg.example/xplan/"
LEIPZIG_DOCUMENTS = "https://stadtplanung.leipzig.example/bplan/"
LAST_DAY = date(2024, 12, 31)

# XPlanung 6.0 BP_PlanArt and BP_Rechtsstand: code -> (lesbarer Name, weight in the demo).
PLAN_ART = {
    "10001": ("Qualifizierter BPlan", 40),
    "1000": ("BPlan", 18),
    "3000": ("Vorhabenbezogener BPlan", 14),
    "10000": ("Einfacher BPlan", 10),
    "7000": ("Örtliche Bauvorschrift", 5),
    "40002": ("Ergänzungs-Satzung", 4),
    "40000": ("Klarstellungs-Satzung", 3),
    "10002": ("Bebauungsplan zur Wohnraumversorgung", 3),
    "3100": ("Vorhaben- und Erschließungsplan", 3),
}
RECHTSSTAND = {
    "4000": ("In Kraft getreten", 52),
    "1000": ("Aufstellungsbeschluss", 6),
    "2200": ("Frühzeitige Öffentlichkeitsbeteiligung", 4),
    "2300": ("Behördenbeteiligung", 4),
    "2400": ("Öffentliche Auslegung", 6),
    "3000": ("Satzung", 3),
    "4500": ("Teilweise untergegangen", 5),
    "50000": ("Aufgehoben", 6),
    "50001": ("Außer Kraft", 4),
    "5000": ("Untergegangen", 2),
}
IN_PROCEDURE = {"1000", "2200", "2300", "2400"}

# Hamburg's plans are named after the Stadtteil and numbered within it ("Ottensen 64").
# Centres in EPSG:25832, approximate (rounded to 100 m).
HAMBURG_STADTTEILE = (
    ("Altona-Altstadt", 562800, 5933700),
    ("Ottensen", 561300, 5933900),
    ("Bahrenfeld", 560300, 5935000),
    ("Eimsbüttel", 563300, 5936500),
    ("Rotherbaum", 565300, 5936000),
    ("Winterhude", 566800, 5939000),
    ("Barmbek-Nord", 569000, 5938800),
    ("HafenCity", 566500, 5932800),
    ("Wilhelmsburg", 566500, 5928500),
    ("Harburg", 564800, 5924800),
    ("Bergedorf", 580500, 5925500),
    ("Wandsbek", 571200, 5937000),
    ("Niendorf", 561200, 5942800),
    ("Rahlstedt", 577500, 5940000),
)
LEIPZIG_PURPOSES = (
    "Wohngebiet",
    "Wohnquartier",
    "Gewerbegebiet",
    "Mischgebiet",
    "Stadtteilzentrum",
    "Sondergebiet Einzelhandel",
    "Schulstandort",
    "Grünzug",
)

Ring = list[tuple[float, float]]
Place = tuple[str, float, float]  # name, x, y


@dataclass(frozen=True)
class Plan:
    plan_id: int
    gml_id: str
    name: str
    nummer: str | None
    ortsteil: str
    plan_art: str
    rechtsstand: str | None
    aufstellungsbeschluss: date
    satzungsbeschluss: date | None
    inkrafttreten: date | None
    techn_herstell: date
    massstab: int | None  # erstellungsMassstab, the scale denominator
    parts: tuple[Ring, ...]  # exterior rings, counter-clockwise, closed


def _weighted(rng: random.Random, table: dict[str, tuple[str, int]]) -> str:
    codes = list(table)
    return rng.choices(codes, weights=[table[c][1] for c in codes])[0]


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max(1, (end - start).days + 1)))


def _dates(rng: random.Random, status: str) -> tuple[date, date | None, date | None]:
    """(Aufstellungsbeschluss, Satzungsbeschluss, Inkrafttreten) fitting the legal status."""
    if status in IN_PROCEDURE:
        return _day(rng, date(2019, 1, 1), date(2024, 10, 31)), None, None
    start = _day(rng, date(1996, 1, 1), date(2021, 12, 31))
    adopted = min(start + timedelta(days=rng.randint(300, 1400)), LAST_DAY - timedelta(days=150))
    if status == "3000":
        return start, adopted, None
    return start, adopted, adopted + timedelta(days=rng.randint(25, 120))


def _ring(rng: random.Random, cx: float, cy: float, radius: float) -> Ring:
    """A star-shaped polygon around the centre: rising angles with gaps below pi keep it
    simple and counter-clockwise (GeoJSON's exterior orientation)."""
    count = rng.randint(5, 10)
    step = 2 * math.pi / count
    angles = [i * step + rng.uniform(-0.3, 0.3) * step for i in range(count)]
    points = [
        (
            round(cx + math.cos(a) * radius * rng.uniform(0.6, 1.0), 2),
            round(cy + math.sin(a) * radius * rng.uniform(0.6, 1.0), 2),
        )
        for a in angles
    ]
    return [*points, points[0]]


def _parts(rng: random.Random, cx: float, cy: float) -> tuple[Ring, ...]:
    radius = rng.uniform(70, 320)
    x, y = rng.gauss(cx, 500), rng.gauss(cy, 500)
    parts = [_ring(rng, x, y, radius)]
    if rng.random() < 0.12:  # a plan of two separate areas
        angle = rng.uniform(0, 2 * math.pi)
        dx, dy = math.cos(angle) * radius * 2.6, math.sin(angle) * radius * 2.6
        parts.append(_ring(rng, x + dx, y + dy, radius * rng.uniform(0.3, 0.6)))
    return tuple(parts)


def _gml_id(rng: random.Random) -> str:
    return "Gml_" + str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def _plan(rng: random.Random, plan_id: int, name: str, nummer: str | None, place: Place) -> Plan:
    ortsteil, cx, cy = place
    status = _weighted(rng, RECHTSSTAND)
    start, adopted, in_force = _dates(rng, status)
    made = _day(rng, in_force or adopted or start, LAST_DAY)
    return Plan(
        plan_id=plan_id,
        gml_id=_gml_id(rng),
        name=name,
        nummer=nummer,
        ortsteil=ortsteil,
        plan_art=_weighted(rng, PLAN_ART),
        rechtsstand=status,
        aufstellungsbeschluss=start,
        satzungsbeschluss=adopted,
        inkrafttreten=in_force,
        techn_herstell=made,
        massstab=rng.choices((1000, 500, 2000, 2500, None), weights=(70, 12, 10, 4, 4))[0],
        parts=_parts(rng, cx, cy),
    )


def hamburg_plans(seed: int) -> list[Plan]:
    rng = random.Random(seed * 100 + 11)
    numbers = {name: rng.randint(3, 40) for name, _, _ in HAMBURG_STADTTEILE}
    plans = []
    for i in range(PLAN_COUNTS["hamburg"]):
        place = rng.choice(HAMBURG_STADTTEILE)
        numbers[place[0]] += rng.randint(1, 9)
        label = f"{place[0]} {numbers[place[0]]}"
        plans.append(_plan(rng, 4100 + i * 3 + rng.randint(0, 2), label, label, place))
    return plans


def leipzig_plans(seed: int) -> list[Plan]:
    rng = random.Random(seed * 100 + 12)
    plans, number = [], 96
    for i in range(PLAN_COUNTS["leipzig"]):
        district = rng.choice(LEIPZIG)
        number += rng.randint(1, 14)
        where = rng.choice((district.name, *district.streets))
        name = f"{rng.choice(LEIPZIG_PURPOSES)} {where}"
        nummer = None if rng.random() < 0.06 else f"{number}{'.1' if rng.random() < 0.1 else ''}"
        place = (district.name, *district.centre)
        plan = _plan(rng, 1380 + i * 2 + rng.randint(0, 1), name, nummer, place)
        if rng.random() < 0.06:  # some plans lack a legal status in the service
            plan = replace(plan, rechtsstand=None)
        plans.append(plan)
    return plans


def _gemeinde(city: str, plan: Plan) -> str:
    """XP_Gemeinde flattened as XPlanSynWFS does it."""
    return f"[Gemeindeschlüssel: {AGS[city]}|Gemeinde: {GEMEINDE[city]}|Ortsteil: {plan.ortsteil}]"


def hamburg_document(plan: Plan) -> str:
    return f"{HAMBURG_DOCUMENTS}{plan.plan_id}.pdf"


def _hamburg_properties(plan: Plan) -> dict:
    iso = lambda d: None if d is None else d.isoformat()  # noqa: E731
    return {
        "gmlId": plan.gml_id,
        "xpVersion": "6.0",
        "xpPlanType": "BP_Plan",
        "xplanMgrPlanId": plan.plan_id,
        "name": plan.name,
        "nummer": plan.nummer,
        "technHerstellDatum": plan.techn_herstell.isoformat(),
        "erstellungsMassstab": plan.massstab,
        "externeReferenz": f"[{hamburg_document(plan)} | Rechtsplan]",
        "gemeinde": _gemeinde("hamburg", plan),
        "aufstellungsbeschlussDatum": plan.aufstellungsbeschluss.isoformat(),
        "satzungsbeschlussDatum": iso(plan.satzungsbeschluss),
        "inkrafttretensDatum": iso(plan.inkrafttreten),
        "planArt": plan.plan_art,
        "planArtWert": PLAN_ART[plan.plan_art][0],
        "rechtsstand": plan.rechtsstand,
        "rechtsstandWert": RECHTSSTAND[plan.rechtsstand][0] if plan.rechtsstand else None,
    }


def _leipzig_properties(plan: Plan) -> dict:
    german = lambda d: None if d is None else d.strftime("%d.%m.%Y")  # noqa: E731
    adopted = plan.satzungsbeschluss is not None
    return {
        "xplanMgrPlanId": plan.plan_id,
        "xpVersion": "5.4",
        "name": plan.name,
        "nummer": plan.nummer,
        "erstellungsMassstab": plan.massstab,
        "gemeinde": _gemeinde("leipzig", plan),
        "aufstellungsbeschlussDatum": german(plan.aufstellungsbeschluss),
        "satzungsbeschlussDatum": german(plan.satzungsbeschluss),
        "inkrafttretensDatum": german(plan.inkrafttreten),
        "planArtWert": PLAN_ART[plan.plan_art][0],
        "rechtsstandWert": RECHTSSTAND[plan.rechtsstand][0] if plan.rechtsstand else None,
        "externeReferenz": f"{LEIPZIG_DOCUMENTS}{plan.nummer or plan.plan_id}.pdf"
        if adopted
        else None,
    }


def plan_features(city: str, seed: int) -> list[dict]:
    """The city's plans as GeoJSON features in its CRS (raeumlicherGeltungsbereich)."""
    plans = hamburg_plans(seed) if city == "hamburg" else leipzig_plans(seed)
    props = _hamburg_properties if city == "hamburg" else _leipzig_properties
    return [
        {
            "type": "Feature",
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[[list(p) for p in ring]] for ring in plan.parts],
            },
            "properties": props(plan),
        }
        for plan in plans
    ]


def write_plans(path: Path, city: str, seed: int) -> int:
    """One GeoJSON file per city, its CRS named by the legacy `crs` member (as OGR and the
    geojson connector read it), one feature per line."""
    features = plan_features(city, seed)
    code = CRS[city].split(":")[1]
    head = {
        "type": "FeatureCollection",
        "name": "BP_Plan",
        "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}},
    }
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[\n' + ",\n".join(lines)
    path.write_text(text + "\n]}\n", encoding="utf-8")
    return len(features)
