"""A sync source with `profile: water-quality`: the demo's two source shapes (Rotterdam's
NGSI-v2 river probes, turbidity without a unitCode; Aarhus' NGSI-LD stations) end in
Datastreams of the profile, each with its WISE definition and UCUM unit; what the profile
does not cover, or covers in another unit, keeps the plain NGSI mapping."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.demo.ngsi_seed import aarhus_entities, rotterdam_water_entities
from gateway.sensorthings.store.dialect import SQLITE
from gateway.sensorthings.store.sqlite import write_sync
from gateway.sensorthings.store.write import WriteContext
from gateway.sensorthings.sync.config import AttributeSelection, NgsiSync
from gateway.sensorthings.sync.ngsimap import EntityData, from_ld, from_v2
from gateway.sensorthings.sync.profiled import ProfileBinding
from gateway.sensorthings.sync.upsert import upsert_plan
from tests.sensorthings.test_sync_profile import entity, streams

WATER = ProfileBinding.load("water-quality", "1.0.0")
WISE = "http://dd.eionet.europa.eu/vocabulary/wise/ObservedProperty/"
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# What the demo's Rotterdam entry configures: its broker gives turbidity no unitCode.
ROTTERDAM_UNITS = {"turbidity": "{NTU}"}


def sync(
    store: Path,
    entities: list[EntityData],
    units: dict[str, str] | None = None,
    source: str = "water",
    profile: ProfileBinding | None = WATER,
    formerly: tuple[str, ...] = (),
) -> None:
    write_sync(
        store,
        lambda ctx: upsert_plan(
            ctx, source, entities, units or {}, profile=profile, formerly=formerly
        ),
        WriteContext(SQLITE),
    )


def rows(store: Path, table: str) -> dict[int, tuple[str, str | None]]:
    """id -> (source, declared profile) of every Thing or Datastream."""
    with sqlite3.connect(store) as db:
        found = db.execute(f"SELECT id, properties FROM {table}").fetchall()
    props = {int(i): json.loads(p) for i, p in found}
    return {i: (p["source"], p.get("profile")) for i, p in props.items()}


def test_rotterdams_v2_probes_fill_every_property_of_the_profile(tmp_path):
    store = tmp_path / "s.sqlite"
    probes = [from_v2(e, AttributeSelection()) for e in rotterdam_water_entities(NOON)]
    sync(store, probes, ROTTERDAM_UNITS)
    got = streams(store)
    assert len(got) == 4 * 6
    assert all(s["properties"]["profile"] == "water-quality" for s in got.values())
    turbidity = got["Nieuwe Maas - Brienenoordbrug turbidity"]
    assert turbidity["op"] == ("Turbidity", WISE + "EEA_3112-01-4")
    assert turbidity["unit"]["definition"] == "http://unitsofmeasure.org/ucum.html#{NTU}"
    nitrate = got["Oude Maas - Spijkenisse NO3"]
    assert nitrate["op"] == ("Nitrate", WISE + "CAS_14797-55-8")
    assert nitrate["unit"]["symbol"] == "mg/L"
    assert got["Nieuwe Maas - Willemsbrug pH"]["unit"]["symbol"] == "[pH]"
    assert nitrate["thing"]["stationId"] == "Rotterdam-WaterQualityObserved-OMA-SPIJ"
    specs = WATER.profile.sensorthings
    assert specs is not None
    for probe in probes:  # the seed's values are plausible for the profile
        for r in probe.readings:
            found = specs.by_attribute("WaterQualityObserved", r.attribute)
            assert found is not None and found.result_problem(r.value) is None, r


def test_aarhus_ld_stations_fill_the_four_properties_they_measure(tmp_path):
    store = tmp_path / "s.sqlite"
    stations = [from_ld(e, AttributeSelection()) for e in aarhus_entities(NOON)]
    water = [s for s in stations if s.type == "WaterQualityObserved"]
    sync(store, water)
    got = streams(store)
    assert len(got) == 3 * 4
    assert {s["op"][0] for s in got.values()} == {
        "Water temperature",
        "pH",
        "Electrical conductivity",
        "Dissolved oxygen",
    }
    assert all(s["properties"]["profileVersion"] == "1.0.0" for s in got.values())
    conductivity = got["Aarhus-Aa-Mollestien conductivity"]
    assert conductivity["unit"]["symbol"] == "uS/cm"
    assert conductivity["op"][1] == WISE + "EEA_3142-01-6"


def test_turbidity_without_a_configured_unit_is_not_declared(tmp_path):
    """No unitCode and no `units` entry: the unit is unknown, so the value cannot conform."""
    store = tmp_path / "s.sqlite"
    probes = [from_v2(e, AttributeSelection()) for e in rotterdam_water_entities(NOON)[:1]]
    sync(store, probes)
    got = streams(store)
    turbidity = got["Nieuwe Maas - Brienenoordbrug turbidity"]
    assert "profile" not in turbidity["properties"]
    assert turbidity["op"][1].startswith("https://smartdatamodels.org/dataModel.WaterQuality/")
    assert got["Nieuwe Maas - Brienenoordbrug pH"]["properties"]["profile"] == "water-quality"


@pytest.mark.parametrize(
    ("reading", "why"),
    [
        (("conductivity", 0.78, "H61"), "mS/cm, not the profile's uS/cm"),
        (("conductance", 780.0, "G42"), "specific conductance is another quantity"),
        (("NH4", 0.2, "M1"), "not one of the profile's properties"),
    ],
)
def test_what_the_profile_does_not_cover_keeps_the_plain_mapping(tmp_path, reading, why):
    store = tmp_path / "s.sqlite"
    sync(store, [entity("w-1", "WaterQualityObserved", reading)])
    (only,) = streams(store).values()
    assert "profile" not in only["properties"], why
    assert only["op"][1].startswith("https://smartdatamodels.org/")


def test_air_temperature_is_not_water_temperature(tmp_path):
    """Under water-quality, an AirQualityObserved's temperature stays plain; the air and
    water entries of one broker share a store without sharing an ObservedProperty."""
    store = tmp_path / "s.sqlite"
    air = entity("aq-1", "AirQualityObserved", ("temperature", 4.0, "CEL"))
    sync(store, [air], source="stray")
    assert "profile" not in streams(store)["aq-1 temperature"]["properties"]
    sync(store, [air], source="air", profile=ProfileBinding.load("air-quality", None))
    sync(store, [entity("w-1", "WaterQualityObserved", ("temperature", 6.0, "CEL"))])
    got = streams(store)
    assert got["w-1 temperature"]["op"] == ("Water temperature", WISE + "EEA_3121-01-5")
    air_streams = [
        s for n, s in got.items() if n.startswith("aq-1") and "profile" in s["properties"]
    ]
    assert [s["op"][0] for s in air_streams] == ["Air temperature"]


def test_the_demo_syncs_water_quality_for_two_cities_one_profile_per_entry(monkeypatch):
    """Air and water from one broker: two entries, filtered by entity type and named
    apart, so each declares one profile and no entity belongs to two sources."""
    from gateway.config import load_config
    from gateway.demo import DEMO_CONFIG

    monkeypatch.setenv("TWINBRIDGE_DEMO_SERVICES", "http://127.0.0.1:9")
    monkeypatch.setenv("TWINBRIDGE_DEMO_DIR", "/nonexistent")
    loaded = load_config(DEMO_CONFIG)
    for tenant in ("rotterdam", "aarhus"):
        entries = loaded.config.tenants[tenant].sensorthings.sync  # type: ignore[union-attr]
        by_profile = {s.profile: s for s in entries}
        water = by_profile["water-quality"]
        assert water.types == ["WaterQualityObserved"] and water.profile_version == "1.0.0"
        assert by_profile["air-quality"].types == ["AirQualityObserved"]
        binding = water.profile_binding()
        assert binding is not None and binding.profile.version == "1.0.0"
    rotterdam = loaded.config.tenants["rotterdam"].sensorthings.sync  # type: ignore[union-attr]
    assert {"/airquality", "/waterquality"} <= {s.service_path for s in rotterdam}
    assert next(s for s in rotterdam if s.name == "water").units == ROTTERDAM_UNITS
    aarhus = loaded.config.tenants["aarhus"].sensorthings.sync  # type: ignore[union-attr]
    split = {s.name: s.formerly for s in aarhus}  # air stays `environment`, water moved out
    assert {k: split[k] for k in ("environment", "water")} == {
        "environment": [],
        "water": ["environment"],
    }


def test_an_entry_split_off_another_takes_over_its_things_and_datastreams(tmp_path):
    """Aarhus' single entry for air and water, split in two: the water entry (`formerly:
    [environment]`) keeps the Things and Datastreams, ids and history, the old one made."""
    store = tmp_path / "s.sqlite"
    stations = [from_ld(e, AttributeSelection()) for e in aarhus_entities(NOON)]
    air_profile = ProfileBinding.load("air-quality", None)
    sync(store, stations, source="environment", profile=air_profile)  # the entry before
    things, streams_before = rows(store, "things"), rows(store, "datastreams")
    water = [s for s in stations if s.type == "WaterQualityObserved"]
    sync(store, water, formerly=("environment",))
    assert rows(store, "things").keys() == things.keys()  # no Thing made a second time
    after = rows(store, "datastreams")
    assert after.keys() == streams_before.keys()
    moved = {i for i, (source, _) in after.items() if source == "water"}
    assert len(moved) == 3 * 4
    assert {after[i][1] for i in moved} == {"water-quality"}  # brought up to the profile
    assert {after[i] for i in after.keys() - moved} == {("environment", "air-quality")}
    sync(store, water, formerly=("environment",))  # a second run changes nothing
    assert rows(store, "datastreams") == after


def test_without_formerly_a_split_entry_makes_its_things_again(tmp_path):
    store = tmp_path / "s.sqlite"
    water = [
        from_ld(e, AttributeSelection())
        for e in aarhus_entities(NOON)
        if e["type"] == "WaterQualityObserved"
    ]
    sync(store, water, source="environment", profile=None)
    sync(store, water)
    twice = rows(store, "things")
    assert sorted(source for source, _ in twice.values()) == [*["environment"] * 3, *["water"] * 3]
    sync(store, water, formerly=("environment",))  # configured late: its own rows win
    assert rows(store, "things") == twice
    assert all(p == "water-quality" for s, p in rows(store, "datastreams").values() if s == "water")


@pytest.mark.parametrize("formerly", [["water"], ["Not A Name"]])
def test_formerly_names_other_sources(formerly: list[str]):
    raw = {"kind": "ngsi-ld", "name": "water", "url": "http://b", "types": ["T"]}
    with pytest.raises(ValueError, match="'formerly': other sources' names"):
        NgsiSync.model_validate({**raw, "formerly": formerly})
