"""An Array-of-Things import with `profile`: sensors mapped in observed_properties (by
ontology path or subsystem.sensor.parameter), in the profile's unit, end in Datastreams of
the profile, through the same ProfileBinding as the NGSI sync; the rest keeps the plain
mapping, and a misfit stops the configuration, not an import."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.sensorthings.aot import import_sync
from gateway.sensorthings.config import AotImport
from tests.sensorthings.test_sync_profile import streams

SDM = "https://smartdatamodels.org/dataModel.Energy/"
UCUM = "http://unitsofmeasure.org/ucum.html#"
NODES = [
    "node_id,project_id,vsn,address,lat,lon,description,building_id",
    "0e1e00000001,Leipzig_Energy,LE-E001,Rathaus Leipzig,51.3397,12.3731,Town hall,DESNALK01",
    "0e1e00000002,Leipzig_Energy,LE-E002,Schule Gohlis,51.3608,12.3706,School,",
]
SENSORS = [
    "ontology,subsystem,sensor,parameter,hrf_unit,hrf_minval,hrf_maxval,datasheet",
    "/sensing/energy/active_energy_import,meter,ehz,energy_import,kWh,0,1e9,",
    "/sensing/energy/active_power,meter,ehz,power,kW,0,1e5,",
    "/sensing/energy/active_energy_export,pvmeter,ehz,energy_export,Wh,0,1e12,",
    "/sensing/meteorology/temperature,metsense,htu21d,temperature,C,-40,125,",
]
ROWS = [
    "2024/03/04 12:00:00,0e1e00000001,meter,ehz,energy_import,NA,41825.5",
    "2024/03/04 12:00:00,0e1e00000001,meter,ehz,power,NA,57.4",
    "2024/03/04 12:00:00,0e1e00000001,pvmeter,ehz,energy_export,NA,6187020",
    "2024/03/04 12:00:00,0e1e00000002,meter,ehz,power,NA,23.8",
    "2024/03/04 12:00:00,0e1e00000002,metsense,htu21d,temperature,NA,19.5",
]
MAP = {
    "/sensing/energy/active_energy_import": "active_energy_import",
    "meter.ehz.power": "active_power",  # by subsystem.sensor.parameter
    "/sensing/energy/active_energy_export": "active_energy_export",  # but in Wh
}


def digest(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nodes.csv").write_text("\n".join(NODES) + "\n", encoding="utf-8")
    (folder / "sensors.csv").write_text("\n".join(SENSORS) + "\n", encoding="utf-8")
    header = "timestamp,node_id,subsystem,sensor,parameter,value_raw,value_hrf"
    with gzip.open(folder / "data.csv.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join([header, *ROWS]) + "\n")
    return folder


def energy_import(**extra: object) -> AotImport:
    return AotImport(path="d", profile="energy", observed_properties=MAP, **extra)


def test_mapped_sensors_in_the_profiles_unit_get_its_definition_unit_and_declaration(tmp_path):
    store = tmp_path / "s.sqlite"
    result = import_sync(store, digest(tmp_path / "d"), energy_import().profile_binding())
    assert (result.things, result.datastreams, result.observations) == (2, 5, 5)
    got = streams(store)
    consumed = got["LE-E001 meter.ehz.energy_import"]
    assert consumed["op"] == ("Active energy consumed", SDM + "totalActiveEnergyImport")
    assert consumed["unit"] == {
        "name": "kilowatt hour",
        "symbol": "kW.h",
        "definition": UCUM + "kW.h",
    }
    assert consumed["type"].endswith("OM_Measurement")
    assert consumed["properties"]["profile"] == "energy"
    assert consumed["properties"]["profileVersion"] == "1.0.0"
    assert consumed["properties"]["node_id"] == "0e1e00000001"  # the import's own key stays
    assert consumed["thing"]["stationId"] == "0e1e00000001"
    assert consumed["thing"]["buildingId"] == "DESNALK01"
    power = got["LE-E002 meter.ehz.power"]
    assert power["op"][1] == SDM + "totalActivePower" and power["unit"]["symbol"] == "kW"


def test_a_sensor_in_another_unit_or_unmapped_keeps_the_plain_mapping(tmp_path):
    store = tmp_path / "s.sqlite"
    import_sync(store, digest(tmp_path / "d"), energy_import().profile_binding())
    got = streams(store)
    wh = got["LE-E001 pvmeter.ehz.energy_export"]  # Wh: a conversion first, not a claim
    assert "profile" not in wh["properties"]
    assert wh["unit"]["definition"] == UCUM + "W.h"
    assert (
        wh["op"][1]
        == "https://arrayofthings.github.io/ontology/sensing/energy/active_energy_export"
    )
    temperature = got["LE-E002 metsense.htu21d.temperature"]
    assert "profile" not in temperature["properties"]
    assert temperature["thing"]["stationId"] == "0e1e00000002"  # a Thing of the import


def test_without_a_profile_the_import_is_unchanged(tmp_path):
    store = tmp_path / "s.sqlite"
    import_sync(store, digest(tmp_path / "d"))
    got = streams(store)
    assert all("profile" not in s["properties"] for s in got.values())
    assert all("stationId" not in s["thing"] for s in got.values())


def test_reimporting_a_profiled_digest_adds_nothing(tmp_path):
    store = tmp_path / "s.sqlite"
    binding = energy_import().profile_binding()
    import_sync(store, digest(tmp_path / "d"), binding)
    again = import_sync(store, tmp_path / "d", binding)
    assert (again.things, again.datastreams, again.observations) == (0, 0, 0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"profile_version": "2.0.0"}, "installed in version 1.0.0, not 2.0.0"),
        ({"observed_properties": {"meter.ehz.power": "reactive_power"}}, "unknown keys"),
        ({"profile": "street-trees"}, "not sensorthings"),
        ({"observed_properties": {}}, "needs 'observed_properties'"),
    ],
)
def test_a_misfit_profile_stops_the_configuration(extra: dict, message: str):
    with pytest.raises(ValidationError, match=message):
        AotImport(**{"path": "d", "profile": "energy", "observed_properties": MAP, **extra})


def test_the_demos_detector_digest_imports_as_traffic_flow_with_whole_counts(tmp_path):
    """The demo's Leipzig digest with demo.yaml's own imports entry: counts become
    OM_CountObservations with integer results, each Thing names its lane."""
    import sqlite3

    from gateway.demo.sensors import TRAFFIC_DIR, leipzig_imports
    from gateway.demo.traffic import write_traffic_digest

    store = tmp_path / "s.sqlite"
    rows = write_traffic_digest(tmp_path / TRAFFIC_DIR)
    binding = leipzig_imports()[TRAFFIC_DIR]
    assert import_sync(store, tmp_path / TRAFFIC_DIR, binding).observations == rows
    got = streams(store)
    assert all(s["properties"]["profile"] == "traffic-flow" for s in got.values())
    count = got["LE-V012 loop.idl.count"]
    assert count["type"].endswith("OM_CountObservation")
    assert count["unit"]["definition"] == UCUM + "{vehicles}"
    assert count["thing"]["laneId"] == "2" and count["thing"]["stationId"]
    with sqlite3.connect(store) as db:
        results = db.execute(
            "SELECT o.result_json FROM observations o JOIN datastreams d"
            " ON d.id = o.datastream_id WHERE d.name = 'LE-V012 loop.idl.count' LIMIT 5"
        ).fetchall()
    assert results and all(r[0].isdigit() for r in results)


def test_the_cli_imports_a_configured_folder_with_its_entrys_profile(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from gateway.cli import app as cli

    folder = digest(tmp_path / "meters")
    entry = {"path": "meters", "profile": "energy", "observed_properties": MAP}
    tenant = {"sensorthings": {"store": {"path": "leipzig.sqlite"}, "imports": [entry]}}
    config = tmp_path / "twin.yaml"
    config.write_text(yaml.safe_dump({"tenants": {"leipzig": tenant}}))
    args = ["sta", "import", str(folder), "--tenant", "leipzig", "--config", str(config)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    got = streams(tmp_path / "leipzig.sqlite")
    assert got["LE-E001 meter.ehz.energy_import"]["properties"]["profile"] == "energy"


def test_an_import_made_before_the_profile_is_brought_up_to_it(tmp_path):
    """A digest imported plain, then with the profile: the same Datastreams (ids, history)
    now declare it, with its definition and unit; what does not fit stays as it was."""
    store = tmp_path / "s.sqlite"
    import_sync(store, digest(tmp_path / "d"))
    before = {name: s["op"] for name, s in streams(store).items()}
    again = import_sync(store, tmp_path / "d", energy_import().profile_binding())
    assert (again.things, again.datastreams, again.observations) == (0, 0, 0)
    got = streams(store)
    assert set(got) == set(before)
    consumed = got["LE-E001 meter.ehz.energy_import"]
    assert consumed["properties"]["profile"] == "energy"
    assert consumed["op"][1] == SDM + "totalActiveEnergyImport"
    assert consumed["unit"]["symbol"] == "kW.h" and consumed["thing"]["stationId"]
    wh = got["LE-E001 pvmeter.ehz.energy_export"]
    assert (
        "profile" not in wh["properties"]
        and wh["op"] == before["LE-E001 pvmeter.ehz.energy_export"]
    )
