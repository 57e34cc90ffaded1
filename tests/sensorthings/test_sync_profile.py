"""A sync source with a SensorThings profile (`profile: air-quality`): Datastreams of the
profile's observed properties get its definition URI, UCUM unit and observationType and
declare the profile; other attributes, other entity types and other units keep the plain
NGSI mapping; Datastreams made before the profile was configured are brought up to it; a
profile that does not fit stops the configuration."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.sensorthings.store.dialect import SQLITE
from gateway.sensorthings.store.sqlite import write_sync
from gateway.sensorthings.store.write import WriteContext
from gateway.sensorthings.sync.config import NgsiSync
from gateway.sensorthings.sync.ngsimap import EntityData, Reading
from gateway.sensorthings.sync.profiled import ProfileBinding
from gateway.sensorthings.sync.upsert import upsert_plan
from gateway.sensorthings.timefmt import parse_instant

POINT = {"type": "Point", "coordinates": [10.2, 56.15]}
T1 = parse_instant("2026-03-02T12:00:00Z", "t")
AIR = ProfileBinding.load("air-quality", None)
EEA = "http://dd.eionet.europa.eu/vocabulary/aq/"


def entity(eid: str, etype: str, *readings: tuple[str, float, str | None]) -> EntityData:
    values = [Reading(attr, value, T1, T1, unit) for attr, value, unit in readings]
    return EntityData(eid, etype, eid, "d", POINT, None, values)


def sync(store: Path, entities: list[EntityData], profile: ProfileBinding | None = AIR) -> None:
    write_sync(
        store,
        lambda ctx: upsert_plan(ctx, "env", entities, {"o3": "ug/m3"}, profile=profile),
        WriteContext(SQLITE),
    )


def streams(store: Path) -> dict[str, dict[str, Any]]:
    """Datastream name -> what a client reads of it."""
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT d.name, d.unit_of_measurement, d.observation_type, d.properties,"
            " o.name, o.definition, t.properties FROM datastreams d"
            " JOIN observed_properties o ON o.id = d.observed_property_id"
            " JOIN things t ON t.id = d.thing_id"
        ).fetchall()
    return {
        r[0]: {
            "unit": json.loads(r[1]),
            "type": r[2],
            "properties": json.loads(r[3]),
            "op": (r[4], r[5]),
            "thing": json.loads(r[6]),
        }
        for r in rows
    }


def test_profiled_attributes_get_the_profiles_definition_unit_and_declaration(tmp_path):
    store = tmp_path / "s.sqlite"
    air = entity("aq-1", "AirQualityObserved", ("no2", 21.5, "GQ"), ("o3", 40.0, None))
    sync(store, [air])
    got = streams(store)
    no2 = got["aq-1 no2"]
    assert no2["op"] == ("NO2", EEA + "pollutant/8")
    assert no2["unit"]["symbol"] == "ug/m3"
    assert no2["unit"]["definition"] == "http://unitsofmeasure.org/ucum.html#ug/m3"
    assert no2["type"].endswith("OM_Measurement")
    assert no2["properties"]["profile"] == "air-quality"
    assert no2["properties"]["profileVersion"] == AIR.profile.version
    assert no2["thing"]["stationId"] == "aq-1"
    assert got["aq-1 o3"]["op"][1] == EEA + "pollutant/7"  # unit from the source's `units`


def test_what_the_profile_does_not_cover_keeps_the_plain_mapping(tmp_path):
    store = tmp_path / "s.sqlite"
    air = entity("aq-1", "AirQualityObserved", ("no2", 11.0, "61"), ("so2", 3.0, "GQ"))
    water = entity("w-1", "WaterQualityObserved", ("temperature", 6.5, "CEL"))
    sync(store, [air, water])
    got = streams(store)
    assert got["aq-1 no2"]["op"][1].startswith("https://smartdatamodels.org/")  # ppb, not µg/m³
    assert got["aq-1 no2"]["unit"]["symbol"] == "ppb"
    assert "profile" not in got["aq-1 no2"]["properties"]
    assert "profile" not in got["aq-1 so2"]["properties"]
    assert got["w-1 temperature"]["op"][1].startswith("https://smartdatamodels.org/")


def test_datastreams_made_before_the_profile_are_brought_up_to_it(tmp_path):
    store = tmp_path / "s.sqlite"
    air = entity("aq-1", "AirQualityObserved", ("pm10", 17.0, "GQ"))
    sync(store, [air], profile=None)
    before = streams(store)["aq-1 pm10"]
    assert "profile" not in before["properties"] and "stationId" not in before["thing"]
    sync(store, [air])
    after = streams(store)
    assert list(after) == ["aq-1 pm10"]  # the same Datastream, not a second one
    assert after["aq-1 pm10"]["op"] == ("PM10", EEA + "pollutant/5")
    assert after["aq-1 pm10"]["unit"]["symbol"] == "ug/m3"
    assert after["aq-1 pm10"]["properties"]["profile"] == "air-quality"
    assert after["aq-1 pm10"]["properties"]["entityId"] == "aq-1"  # its key survives
    assert after["aq-1 pm10"]["thing"]["stationId"] == "aq-1"


def test_an_attribute_mapped_by_name_joins_the_profile(tmp_path):
    store = tmp_path / "s.sqlite"
    names = ProfileBinding.load("air-quality", None, {"NO2": "no2"})
    sync(store, [entity("aq-1", "AirQualityObserved", ("NO2", 30.0, "GQ"))], profile=names)
    assert streams(store)["aq-1 NO2"]["op"] == ("NO2", EEA + "pollutant/8")


BASE = {"kind": "ngsi-v2", "name": "air", "url": "http://broker", "types": ["AirQualityObserved"]}


@pytest.mark.parametrize(
    ("extra", "phrase"),
    [
        ({"profile": "no-such-profile"}, "unknown profile 'no-such-profile'"),
        ({"profile": "street-trees"}, "of kind features, not sensorthings"),
        ({"profile": "air-quality", "profile_version": "0.9.0"}, "not 0.9.0"),
        ({"profile": "air-quality", "observed_properties": {"CO": "co"}}, "unknown keys"),
        ({"profile_version": "1.0.0"}, "need a 'profile'"),
    ],
)
def test_a_profile_that_does_not_fit_is_a_configuration_error(extra: dict, phrase: str):
    with pytest.raises(ValidationError) as e:
        NgsiSync.model_validate({**BASE, **extra})
    assert phrase in str(e.value)


def test_the_declared_version_is_accepted_when_installed():
    cfg = NgsiSync.model_validate(
        {**BASE, "profile": "air-quality", "profile_version": AIR.profile.version}
    )
    binding = cfg.profile_binding()
    assert binding is not None and binding.declared["profileVersion"] == AIR.profile.version
