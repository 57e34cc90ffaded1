"""Array-of-Things digests into the embedded store (mapping, UCUM units, incremental
re-import, the CLI, periodic imports), and the sensor demo of `twinbridge serve`."""

from __future__ import annotations

import csv
import gzip
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from gateway.cli import app as cli
from gateway.demo.sensors import AOT_DIR, SUBFOLDER, write_aot
from gateway.sensorthings.aot import import_sync, read_digest

NODES = [
    "node_id,project_id,vsn,address,lat,lon,description,start_timestamp,end_timestamp",
    "001e0610ba46,AoT_Chicago,004,State St & Jackson Blvd Chicago IL,41.878,-87.628,"
    "AoT Chicago [C],2017/08/08 00:00:00,",
    "001e0610ba8f,AoT_Chicago,00D,Cornell Dr Chicago IL,41.788,-87.599,"
    "AoT Chicago [P],2017/08/08 00:00:00,",
]
SENSORS = [
    "ontology,subsystem,sensor,parameter,hrf_unit,hrf_minval,hrf_maxval,datasheet",
    "/sensing/meteorology/temperature,metsense,htu21d,temperature,C,-40,125,https://example.org/htu21d.pdf",
    "/sensing/air_quality/gases/no2,chemsense,no2,concentration,ppm,0,20,https://example.org/no2.pdf",
]


def write_digest(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nodes.csv").write_text("\n".join(NODES) + "\n", encoding="utf-8")
    (folder / "sensors.csv").write_text("\n".join(SENSORS) + "\n", encoding="utf-8")
    header = "timestamp,node_id,subsystem,sensor,parameter,value_raw,value_hrf"
    with gzip.open(folder / "data.csv.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join([header, *rows]) + "\n")
    return folder


ROWS = [
    "2017/09/09 22:12:44,001e0610ba8f,metsense,htu21d,temperature,NA,24.1",
    "2017/09/09 22:12:44,001e0610ba46,chemsense,no2,concentration,1832,0.03",
    "2017/09/09 22:17:44,001e0610ba8f,metsense,htu21d,temperature,NA,NA",
    "2017/09/09 22:17:44,001e0610ba8f,metsense,htu21d,temperature,NA,23.9",
    "2017/09/09 22:17:44,001e0610ba8f,metsense,unknown,temperature,NA,3",
    "2017/09/09 22:22:44,001e0610ba46,chemsense,no2,concentration,1840,0.04",
]


def test_import_maps_nodes_sensors_and_rows_to_the_entity_model(make_client, tmp_path):
    digest = write_digest(tmp_path / "digest", ROWS)
    client = make_client()
    store = Path(client.loaded.config.tenants["t"].sensorthings.store.path)
    result = import_sync(store, digest)
    assert (result.things, result.datastreams, result.observations, result.skipped) == (2, 2, 4, 2)
    sta = "/t/sta/v1.1"
    things = client.get(
        f"{sta}/Things?$expand=Locations,Datastreams($expand=Sensor,ObservedProperty)&$orderby=name"
    ).json()["value"]
    assert [t["name"] for t in things] == ["004", "00D"]
    assert things[0]["properties"]["node_id"] == "001e0610ba46"
    assert things[0]["Locations"][0]["location"] == {
        "type": "Point",
        "coordinates": [-87.628, 41.878],
    }
    ds = things[0]["Datastreams"][0]
    assert ds["unitOfMeasurement"]["definition"].endswith("#[ppm]")
    assert ds["ObservedProperty"]["definition"].endswith("/sensing/air_quality/gases/no2")
    assert (
        ds["Sensor"]["name"] == "chemsense.no2"
        and ds["Sensor"]["metadata"] == "https://example.org/no2.pdf"
    )
    obs = client.get(
        f"{sta}/Datastreams({ds['@iot.id']})/Observations?$orderby=phenomenonTime"
    ).json()["value"]
    assert [o["result"] for o in obs] == [0.03, 0.04]
    assert obs[0]["phenomenonTime"] == "2017-09-09T22:12:44Z" and obs[0]["parameters"] == {
        "value_raw": "1832"
    }
    assert client.get(f"{sta}/FeaturesOfInterest?$count=true").json()["@iot.count"] == 2


def test_reimport_adds_only_new_rows(tmp_path):
    store = tmp_path / "store.sqlite"
    assert import_sync(store, write_digest(tmp_path / "a", ROWS)).observations == 4
    later = [*ROWS, "2017/09/09 22:27:44,001e0610ba8f,metsense,htu21d,temperature,NA,23.5"]
    again = import_sync(store, write_digest(tmp_path / "b", later))
    assert (again.things, again.datastreams, again.observations) == (0, 0, 1)


def test_a_digest_that_is_not_one_is_refused(tmp_path):
    folder = write_digest(tmp_path / "x", [])
    with gzip.open(folder / "data.csv.gz", "wt") as f:
        f.write("a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="not an Array of Things digest"):
        read_digest(folder)


def test_cli_imports_into_a_configured_tenant(tmp_path):
    import yaml

    config = tmp_path / "twin.yaml"
    config.write_text(
        yaml.safe_dump(
            {"tenants": {"chicago": {"sensorthings": {"store": {"path": "chicago.sqlite"}}}}}
        )
    )
    digest = write_digest(tmp_path / "digest", ROWS)
    runner = CliRunner()
    args = [
        "sta",
        "import",
        "--format",
        "aot",
        str(digest),
        "--tenant",
        "chicago",
        "--config",
        str(config),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "4 Observations imported" in result.output
    assert (tmp_path / "chicago.sqlite").is_file()
    bad = runner.invoke(
        cli, ["sta", "import", str(digest), "--tenant", "nobody", "--config", str(config)]
    )
    assert bad.exit_code == 2 and "nobody" in bad.output


def test_periodic_import_fills_the_store_at_start(make_client, tmp_path):
    digest = write_digest(tmp_path / "digest", ROWS)
    client = make_client(
        {"t": {"imports": [{"format": "aot", "path": str(digest), "interval": 0}]}}
    )
    deadline = time.monotonic() + 10
    count = 0
    while time.monotonic() < deadline and count < 4:
        count = client.get("/t/sta/v1.1/Observations?$count=true&$top=0").json()["@iot.count"]
        time.sleep(0.05)
    assert count == 4


def test_the_generated_digest_is_deterministic_and_the_right_size(tmp_path):
    rows = write_aot(tmp_path / "a", 7)
    write_aot(tmp_path / "b", 7)
    for name in ("nodes.csv", "sensors.csv", "data.csv.gz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert 78000 <= rows <= 82000
    with (tmp_path / "a" / "nodes.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 20


def test_the_demo_serves_leipzig_air_quality_and_hamburg_charging(
    demo_client: TestClient, demo_dir: Path
):
    assert (demo_dir / SUBFOLDER / AOT_DIR / "data.csv.gz").is_file()
    leipzig = "/leipzig/sta/v1.1"
    air = "properties/project_id eq 'AoT_Leipzig'"
    things = demo_client.get(f"{leipzig}/Things?$count=true&$top=0&$filter={air}").json()
    assert things["@iot.count"] == 20
    names = {p["name"] for p in demo_client.get(f"{leipzig}/ObservedProperties").json()["value"]}
    assert {"temperature", "pm10", "pm2_5", "no2"} <= names  # and the building meters' energy
    url = f"{leipzig}/Observations?$count=true&$top=0&$filter=Datastream/Thing/{air}"
    assert 78000 <= demo_client.get(url).json()["@iot.count"] <= 82000
    hamburg = "/hamburg/sta/v1.1"
    q = (
        "Datastreams?$filter=properties/serviceName eq 'HH_STA_E-Ladestationen'"
        " and properties/layerName eq 'Status_E-Ladepunkt'&$count=true"
        "&$expand=Observations($top=1;$orderby=phenomenonTime desc)"
    )
    doc = demo_client.get(f"{hamburg}/{q}").json()
    assert doc["@iot.count"] >= 80
    statuses = {"AVAILABLE", "CHARGING", "OCCUPIED", "RESERVED", "FAULTED", "UNAVAILABLE"}
    assert all(d["Observations"][0]["result"] in statuses for d in doc["value"])
    assert demo_client.get("/nowhere/sta/v1.1/").status_code == 404  # no such tenant
    r = demo_client.post(f"{leipzig}/Things", json={"name": "x", "description": "y"})
    assert r.status_code == 403  # the demo is read-only unless TWINBRIDGE_DEMO_STA_KEY is set


def test_cli_imports_into_a_postgres_store(tmp_path, store_kind):
    import yaml

    from tests.sensorthings.conftest import store_block

    store = store_block(tmp_path, "chicago", store_kind)
    config = tmp_path / "twin.yaml"
    config.write_text(yaml.safe_dump({"tenants": {"chicago": {"sensorthings": {"store": store}}}}))
    digest = write_digest(tmp_path / "digest", ROWS)
    args = ["sta", "import", str(digest), "--tenant", "chicago", "--config", str(config)]
    first = CliRunner().invoke(cli, args)
    again = CliRunner().invoke(cli, args)
    assert "4 Observations imported" in first.output, first.output
    assert "0 Observations imported" in again.output, again.output
