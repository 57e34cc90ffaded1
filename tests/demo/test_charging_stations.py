"""The demo's EV charging stations: Hamburg's city layer (GeoJSON, EPSG:25832) and Leipzig's
Ladesäulenregister-style CSV, their shapes, and that demo.yaml maps every record onto the
ev-charging-stations profile with no source word left out of a code list."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyproj import Transformer

import profiles
from gateway.config import CollectionConfig, parse_config
from gateway.demo import DEMO_CONFIG
from gateway.demo.charging import STATIONS, stations
from gateway.demo.charging_stations import (
    LEIPZIG_COLUMNS,
    LEIPZIG_STATIONS,
    STATION_FILES,
    write_stations,
)
from gateway.demo.generate import DEFAULT_SEED
from gateway.mapping import Mapper

COLLECTIONS = {"hamburg": "ladesaeulen", "leipzig": "ladeeinrichtungen"}
LISTS = {"connector_types", "payment_methods"}


def hamburg_records(folder: Path) -> list[dict[str, Any]]:
    data = json.loads((folder / STATION_FILES["hamburg"]).read_text(encoding="utf-8"))
    assert data["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::25832"
    return [
        {"properties": f["properties"], "xy": f["geometry"]["coordinates"], "crs": "EPSG:25832"}
        for f in data["features"]
    ]


def leipzig_records(folder: Path) -> list[dict[str, Any]]:
    with (folder / STATION_FILES["leipzig"]).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    return [
        {
            "properties": row,
            "xy": [float(row[c].replace(",", ".")) for c in ("Längengrad", "Breitengrad")],
            "crs": "EPSG:4326",
        }
        for row in rows
    ]


READERS = {"hamburg": hamburg_records, "leipzig": leipzig_records}


@pytest.fixture(scope="module")
def collections(demo: Path) -> dict[str, CollectionConfig]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINBRIDGE_DEMO_DIR", str(demo))
        mp.setenv("TWINBRIDGE_DEMO_SERVICES", "http://127.0.0.1:9")  # parsed, never reached
        data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
        loaded = parse_config(data, str(DEMO_CONFIG), DEMO_CONFIG.parent)
    return {city: loaded.config.tenants[city].collections[c] for city, c in COLLECTIONS.items()}


def test_files_are_deterministic_and_follow_the_seed(demo: Path, tmp_path: Path) -> None:
    assert write_stations(tmp_path, DEFAULT_SEED) == {"hamburg": STATIONS, "leipzig": 30}
    for name in STATION_FILES.values():
        assert (tmp_path / name).read_bytes() == (demo / name).read_bytes(), name
    other = tmp_path / "other"
    other.mkdir()
    write_stations(other, 7)
    for name in STATION_FILES.values():
        assert (other / name).read_bytes() != (demo / name).read_bytes(), name


def test_hamburg_layer_holds_the_sensorthings_demo_stations(demo: Path) -> None:
    """Same ids, places, operators and numbers of charging points as the STA Things."""
    records = hamburg_records(demo)
    things = stations(DEFAULT_SEED)
    assert len(records) == len(things) == STATIONS
    to_wgs84 = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True).transform
    for record, thing in zip(records, things, strict=True):
        props = record["properties"]
        assert props["standort_id"] == thing["properties"]["assetID"]
        assert props["bezeichnung"] == thing["name"]
        assert props["betreiber"] == thing["properties"]["operator"]
        assert props["bezirk"] == thing["properties"]["district"]
        assert props["ladepunkte"] == thing["points"]
        lon, lat = to_wgs84(*record["xy"])
        sta = thing["Locations"][0]["location"]["coordinates"]
        assert lon == pytest.approx(sta[0], abs=1e-5) and lat == pytest.approx(sta[1], abs=1e-5)
        assert f"{props['strasse']} {props['hausnummer']}" == thing["Locations"][0]["name"]
        assert re.fullmatch(r"2\d\d\d-\d\d-\d\d", props["inbetriebnahme"])
        assert re.fullmatch(r"2[0-2]\d\d\d", props["plz"])


def test_leipzig_csv_has_the_registers_columns_and_number_style(demo: Path) -> None:
    text = (demo / STATION_FILES["leipzig"]).read_text(encoding="utf-8")
    assert text.splitlines()[0].split(";") == LEIPZIG_COLUMNS
    rows = [r["properties"] for r in leipzig_records(demo)]
    assert len(rows) == LEIPZIG_STATIONS
    assert len({r["Ladeeinrichtungs-ID"] for r in rows}) == len(rows)
    for row in rows:
        assert re.fullmatch(r"51,\d{6}", row["Breitengrad"])
        assert re.fullmatch(r"12,\d{6}", row["Längengrad"])
        assert re.fullmatch(r"04\d{3}", row["Postleitzahl"])
        points = [n for n in range(1, 5) if row[f"Nennleistung Stecker{n}"]]
        assert points == list(range(1, int(row["Anzahl Ladepunkte"]) + 1))  # one per point
        for n in range(1, 5):  # plugs where there is a point, and only there
            assert bool(row[f"Steckertypen{n}"]) == (n in points)
            assert re.fullmatch(r"(\d+,\d\d)?", row[f"Nennleistung Stecker{n}"])
        planned = row["Status"] == "In Planung"
        assert (row["Inbetriebnahmedatum"] == "") == planned
        if not planned:
            assert re.fullmatch(r"\d\d\.\d\d\.20\d\d", row["Inbetriebnahmedatum"])
    cells = [r[f"Steckertypen{n}"] for r in rows for n in range(1, 5)]
    words = " | ".join(cells)
    for word in ("AC Steckdose Typ 2", "AC Kupplung Typ 2", "DC Kupplung Combo", "DC CHAdeMO"):
        assert word in words, word
    assert any(", " in cell for cell in cells)  # several connectors in one cell


@pytest.mark.parametrize("city", sorted(READERS))
def test_every_record_maps_onto_a_valid_station(demo: Path, collections, city: str) -> None:
    collection = collections[city]
    assert collection.profile == "ev-charging-stations"
    profile = profiles.get("ev-charging-stations")
    mapper = Mapper(collection.mapping, list(profile.properties()))
    to_crs84 = Transformer.from_crs(READERS[city](demo)[0]["crs"], "OGC:CRS84", always_xy=True)
    ids = set()
    for record in READERS[city](demo):
        x, y = to_crs84.transform(*record["xy"])
        feature = mapper({"geometry": {"type": "Point", "coordinates": [x, y]}, **record})
        assert profile.validate(feature) == [], feature
        ids.add(feature["id"])
    assert len(ids) == len(READERS[city](demo))


@pytest.mark.parametrize("city", sorted(READERS))
def test_code_lists_cover_every_source_word(demo: Path, collections, city: str) -> None:
    """A word missing from a code list would silently become null (or drop out of a list)."""
    rules = collections[city].mapping.rules()
    mapper = Mapper(collections[city].mapping)
    coded = {name: rule for name, rule in rules.items() if rule.codes is not None}
    assert set(coded) == {"status", "access", "charging_type", *LISTS}
    for record in READERS[city](demo):
        props = mapper(record)["properties"]
        for name, rule in coded.items():
            columns = rule.collect or [rule.from_]
            raw = ",".join(record["properties"][c] for c in columns)
            if name in LISTS:
                words = {w.strip() for w in re.split("[,;]", raw) if w.strip()}
                targets = {rule.codes[w] for w in words}  # a KeyError names the missing word
                assert set(props[name] or []) == targets
            else:
                assert props[name] == rule.codes[raw]


def test_the_two_sources_differ_in_shape_but_not_in_profile_values(demo: Path, collections):
    mapped = {
        city: [Mapper(collections[city].mapping)(r)["properties"] for r in READERS[city](demo)]
        for city in READERS
    }
    leipzig_rules = collections["leipzig"].mapping.rules()
    assert leipzig_rules["max_power_kw"].operation[0] == "max"  # over the points' columns
    assert leipzig_rules["total_power_kw"].operation[0] == "sum"
    for record, station in zip(READERS["leipzig"](demo), mapped["leipzig"], strict=True):
        powers = [
            float(v.replace(",", "."))
            for n in range(1, 5)
            if (v := record["properties"][f"Nennleistung Stecker{n}"])
        ]
        assert station["total_power_kw"] == pytest.approx(sum(powers))
        assert station["charging_points"] == len(powers)
    for city, stations_ in mapped.items():
        assert {s["max_power_kw"] for s in stations_} <= {3.7, 11, 22, 50, 150, 250}, city
        assert any(s["charging_type"] == "fast" for s in stations_), city
        assert {"type2"} < {c for s in stations_ for c in s["connector_types"]}, city
    connectors = {c for s in mapped["leipzig"] for c in s["connector_types"]}
    assert connectors == {"type2", "ccs2", "chademo", "schuko", "tesla"}
    assert {s["access"] for s in mapped["leipzig"]} >= {"public", "customers"}
    assert any(s["status"] == "planned" and s["commissioned"] is None for s in mapped["leipzig"])
