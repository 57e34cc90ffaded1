"""Demo charging stations (the ev-charging-stations profile) of Hamburg and Leipzig, each in
the shape of its kind of source:

- `hamburg-ladesaeulen.geojson` (EPSG:25832, legacy `crs` member): the 40 stations of
  Hamburg's e-charging SensorThings demo (charging.py: same ids, places, operators, number
  of charging points) as the city's flat "Ladesäulen" layer would carry them: German field
  names, connectors and payment as '; '-separated text in Hamburg's words ('Typ 2; CCS'),
  power in kW, `schnelllader` ja/nein, ISO dates.
- `leipzig-ladeeinrichtungen.csv` (UTF-8, `;`, decimal commas): 30 stations in the column
  style of the Bundesnetzagentur's Ladesäulenregister: WGS 84 Breitengrad/Längengrad, the
  parking information as free text, dates as dd.mm.yyyy, and, as the register has them,
  up to four charging points per row, each in its own columns: `Steckertypen1..4` (the
  register's connector names, several in one cell: 'DC Kupplung Combo, DC CHAdeMO') and
  `Nennleistung Stecker1..4` (kW); a station of more points is listed with its first four.

demo.yaml maps both onto the profile; the mapping needs renames, casts, code lists for
single words and, through `split`, for lists of words; for Leipzig, `collect` gathers the
connector columns into one list and `sum`/`max` give the station's and the highest power.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from gateway.demo.charging import stations as hamburg_sta_stations
from gateway.demo.places import LEIPZIG

STATION_FILES = {
    "hamburg": "hamburg-ladesaeulen.geojson",
    "leipzig": "leipzig-ladeeinrichtungen.csv",
}
LEIPZIG_STATIONS = 30


@dataclass(frozen=True)
class Kind:
    """A kind of station: connectors (profile codes) and the power of each charging point."""

    name: str
    connectors: tuple[str, ...]
    point_kw: tuple[float, ...]
    weight: int

    @property
    def fast(self) -> bool:
        return max(self.point_kw) > 22


KINDS = (
    Kind("ac11", ("type2",), (11, 11), 30),
    Kind("ac22", ("type2",), (22, 22), 30),
    Kind("triple", ("ccs2", "chademo", "type2"), (50, 22), 12),
    Kind("wallbox", ("schuko", "type2"), (11, 3.7), 6),
    Kind("ac22x4", ("type2",), (22, 22, 22, 22), 10),
    Kind("hpc", ("ccs2",), (150, 150, 150, 150), 8),
    Kind("supercharger", ("ccs2", "tesla"), (250,) * 8, 2),
)

# Hamburg's words in the layer; the profile code is the key.
HH_CONNECTORS = {
    "type2": "Typ 2",
    "ccs2": "CCS",
    "chademo": "CHAdeMO",
    "schuko": "Schuko",
    "tesla": "Tesla Supercharger",
}
HH_PAYMENT = {
    "app": "App",
    "rfid": "Ladekarte",
    "credit_card": "Kreditkarte",
    "debit_card": "Girocard",
    "free": "kostenlos",
}
HH_POSTCODES = {  # the streets of charging.py, each with a real postcode of the street
    "Jungfernstieg": "20354",
    "Mönckebergstraße": "20095",
    "Osterstraße": "20259",
    "Eppendorfer Baum": "20249",
    "Mühlenkamp": "22303",
    "Bahrenfelder Straße": "22765",
    "Wandsbeker Marktstraße": "22041",
    "Lange Reihe": "20099",
    "Schanzenstraße": "20357",
    "Elbchaussee": "22763",
    "Fuhlsbüttler Straße": "22305",
    "Bergedorfer Straße": "21029",
    "Harburger Ring": "21073",
}
# The register's words: a profile code may be written in more than one way.
LE_CONNECTORS = {
    "type2": ("AC Steckdose Typ 2", "AC Kupplung Typ 2"),
    "ccs2": ("DC Kupplung Combo",),
    "chademo": ("DC CHAdeMO",),
    "schuko": ("AC Schuko",),
    "tesla": ("DC Tesla Supercharger",),
}
LE_PAYMENT = {
    "app": "Onlinezahlungsverfahren",
    "rfid": "RFID-Karte",
    "credit_card": "Kreditkarte (kontaktlos)",
    "debit_card": "Debitkarte (kontaktlos)",
    "free": "kostenlos",
}
LE_PARKING = {  # Informationen zum Parkraum -> access
    "Straßenrand": "public",
    "öffentlicher Parkplatz": "public",
    "öffentliches Parkhaus": "public",
    "Kundenparkplatz": "customers",
    "Hotelparkplatz (nur Gäste)": "customers",
    "Betriebsgelände": "private",
}
LE_POSTCODES = {
    "Zentrum": "04109",
    "Zentrum-Süd": "04107",
    "Südvorstadt": "04275",
    "Connewitz": "04277",
    "Schleußig": "04229",
    "Plagwitz": "04229",
    "Lindenau": "04177",
    "Leutzsch": "04179",
    "Gohlis-Süd": "04155",
    "Gohlis-Mitte": "04157",
    "Möckern": "04159",
    "Eutritzsch": "04129",
    "Schönefeld-Abtnaundorf": "04347",
    "Reudnitz-Thonberg": "04317",
    "Anger-Crottendorf": "04318",
    "Stötteritz": "04299",
}
LE_OPERATORS = {  # kind -> who runs such stations in Leipzig
    "ac11": "Stadtwerke Leipzig GmbH",
    "ac22": "Stadtwerke Leipzig GmbH",
    "triple": "Allego GmbH",
    "wallbox": "Stadtwerke Leipzig GmbH",
    "ac22x4": "Kaufland Dienstleistung GmbH & Co. KG",
    "hpc": "EnBW mobility+ AG und Co.KG",
    "supercharger": "Tesla Germany GmbH",
}
LEIPZIG_COLUMNS = [
    "Ladeeinrichtungs-ID",
    "Betreiber",
    "Anzeigename (Karte)",
    "Status",
    "Art der Ladeeinrichtung",
    "Anzahl Ladepunkte",
    "Bezahlsysteme",
    "Öffnungszeiten",
    "Informationen zum Parkraum",
    "Inbetriebnahmedatum",
    "Straße",
    "Hausnummer",
    "Postleitzahl",
    "Ort",
    "Ortsteil",
    "Breitengrad",
    "Längengrad",
]
REGISTER_POINTS = 4  # charging points the register has columns for
LEIPZIG_COLUMNS += [
    f"{column}{n}"
    for n in range(1, REGISTER_POINTS + 1)
    for column in ("Steckertypen", "Nennleistung Stecker")
]
DC_CONNECTORS = {"ccs2", "chademo", "tesla"}


def _kind(rng: random.Random, points: int | None = None) -> Kind:
    fitting = [k for k in KINDS if points is None or len(k.point_kw) == points]
    return rng.choices(fitting, weights=[k.weight for k in fitting])[0]


def _payment(rng: random.Random, kind: Kind) -> list[str]:
    methods = ["app", "rfid"]
    if kind.fast:  # AFIR: payment cards at new stations of 50 kW and more
        methods += ["credit_card", "debit_card"]
    elif kind.name == "wallbox":
        methods = ["free"] if rng.random() < 0.5 else []
    return methods


def _commissioned(rng: random.Random, kind: Kind) -> date:
    first = date(2019, 1, 1) if kind.fast else date(2012, 1, 1)
    return first + timedelta(days=rng.randint(0, (date(2024, 2, 29) - first).days))


def _total_kw(kind: Kind) -> float:
    return round(sum(kind.point_kw), 1)


def hamburg_features(seed: int) -> list[dict[str, Any]]:
    """The STA demo's stations with what the Features layer adds (own random stream, so the
    STA data stays as it is)."""
    rng = random.Random(seed * 13 + 5)
    features = []
    for station in hamburg_sta_stations(seed):
        kind = _kind(rng, station["points"])
        status = "außer Betrieb" if rng.random() < 0.05 else "in Betrieb"
        customers = kind.name == "wallbox"
        props = {
            "standort_id": station["properties"]["assetID"],
            "bezeichnung": station["name"],
            "betreiber": station["properties"]["operator"],
            "betriebszustand": status,
            "zugang": "Kundenparkplatz" if customers else "öffentlich",
            "ladepunkte": station["points"],
            "steckertypen": "; ".join(HH_CONNECTORS[c] for c in kind.connectors),
            "ladeleistung_max_kw": max(kind.point_kw),
            "anschlussleistung_kw": _total_kw(kind),
            "schnelllader": "ja" if kind.fast else "nein",
            "bezahlung": "; ".join(HH_PAYMENT[p] for p in _payment(rng, kind)),
            "oeffnungszeiten": "Mo-Sa 07:00-22:00" if customers else "24/7",
            "inbetriebnahme": _commissioned(rng, kind).isoformat(),
            "bezirk": station["properties"]["district"],
            "strasse": station["street"],
            "hausnummer": station["house_number"],
            "plz": HH_POSTCODES[station["street"]],
        }
        geometry = {
            "type": "Point",
            "coordinates": [round(station["x"], 2), round(station["y"], 2)],
        }
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return features


def write_hamburg_stations(path: Path, seed: int) -> int:
    features = hamburg_features(seed)
    head = {
        "type": "FeatureCollection",
        "name": "ladesaeulen",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
    }
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    text = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[\n' + ",\n".join(lines)
    path.write_text(text + "\n]}\n", encoding="utf-8")
    return len(features)


def _comma(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def leipzig_rows(seed: int) -> list[list[str]]:
    """One register row per station: places near the Ortsteile's real streets."""
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs("EPSG:25833", "EPSG:4326", always_xy=True).transform
    rng = random.Random(seed * 13 + 7)
    kinds = list(KINDS)  # every kind once, so every connector code occurs
    rng.shuffle(kinds)
    kinds += [_kind(rng) for _ in range(LEIPZIG_STATIONS - len(kinds))]
    rows, number = [], 41000
    for kind in kinds:
        number += rng.randint(3, 90)
        district = rng.choice(LEIPZIG)
        street, house = rng.choice(district.streets), str(rng.randint(1, 120))
        x, y = (c + rng.uniform(-district.spread, district.spread) for c in district.centre)
        lon, lat = to_wgs84(x, y)
        roll = rng.random()
        status = "In Planung" if roll < 0.1 else "Außer Betrieb" if roll < 0.15 else "In Betrieb"
        parking = {"wallbox": "Hotelparkplatz (nur Gäste)", "ac22x4": "Kundenparkplatz"}.get(
            kind.name,
            rng.choice(("Straßenrand", "öffentlicher Parkplatz", "öffentliches Parkhaus")),
        )
        if kind.name == "ac11" and rng.random() < 0.15:
            parking = "Betriebsgelände"
        words = {c: rng.choice(LE_CONNECTORS[c]) for c in kind.connectors}
        points = kind.point_kw[:REGISTER_POINTS]
        commissioned = _commissioned(rng, kind)
        rows.append(
            [
                str(number),
                LE_OPERATORS[kind.name],
                f"{'Schnellladepark' if kind.fast else 'Ladesäule'} {street} {house}",
                status,
                "Schnellladeeinrichtung" if kind.fast else "Normalladeeinrichtung",
                str(len(points)),
                "; ".join(LE_PAYMENT[p] for p in _payment(rng, kind)),
                "Mo-Sa 07:00-22:00" if parking == "Kundenparkplatz" else "24/7",
                parking,
                "" if status == "In Planung" else commissioned.strftime("%d.%m.%Y"),
                street,
                house,
                LE_POSTCODES[district.name],
                "Leipzig",
                district.name,
                _comma(lat, 6),
                _comma(lon, 6),
                *_point_columns(kind, points, words),
            ]
        )
    return rows


def _point_columns(kind: Kind, points: tuple[float, ...], words: dict[str, str]) -> list[str]:
    """Steckertypen and Nennleistung of each charging point, empty for points not there:
    DC plugs at the fast points, a Schuko socket at a 3.7 kW point, Typ 2 at the others."""
    cells: list[str] = []
    for n in range(REGISTER_POINTS):
        if n >= len(points):
            cells += ["", ""]
            continue
        kw = points[n]
        if kw > 22:
            plugs = [c for c in kind.connectors if c in DC_CONNECTORS]
        elif kw <= 3.7 and "schuko" in kind.connectors:
            plugs = ["schuko"]
        else:
            plugs = [c for c in kind.connectors if c not in DC_CONNECTORS and c != "schuko"]
        cells += [", ".join(words[c] for c in plugs), _comma(kw, 2)]
    return cells


def write_leipzig_stations(path: Path, seed: int) -> int:
    rows = leipzig_rows(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\n")
        writer.writerow(LEIPZIG_COLUMNS)
        writer.writerows(rows)
    return len(rows)


def write_stations(folder: Path, seed: int) -> dict[str, int]:
    """Both cities' files into `folder`; returns city -> station count."""
    return {
        "hamburg": write_hamburg_stations(folder / STATION_FILES["hamburg"], seed),
        "leipzig": write_leipzig_stations(folder / STATION_FILES["leipzig"], seed),
    }
