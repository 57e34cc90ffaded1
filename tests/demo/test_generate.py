"""The demo data generator and demo.yaml: three cities, three formats, one profile."""

from __future__ import annotations

import json
import re
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest
import yaml

import profiles
from gateway.config import parse_config
from gateway.demo import DEMO_CONFIG
from gateway.demo.buildings import BUILDING_FILES
from gateway.demo.charging_stations import STATION_FILES
from gateway.demo.generate import COUNTS, FILES, ensure_demo_data, generate, main
from gateway.demo.places import HAMBURG_BOX, LEIPZIG_BOX, MUENCHEN_BOX
from gateway.demo.plans import PLAN_FILES
from tests.conftest import require_command
from tests.demo.sources import READERS, decode_gpkg_point, hamburg_records, leipzig_records

BOXES = {"hamburg": HAMBURG_BOX, "leipzig": LEIPZIG_BOX, "muenchen": MUENCHEN_BOX}

SERVICES = "http://127.0.0.1:9"  # parsed, never reached


def test_two_runs_give_byte_identical_files(demo: Path, tmp_path: Path) -> None:
    generate(tmp_path)
    for name in [*FILES.values(), *PLAN_FILES.values(), *STATION_FILES.values()]:
        assert (tmp_path / name).read_bytes() == (demo / name).read_bytes(), name


def test_another_seed_gives_other_trees(demo: Path, tmp_path: Path) -> None:
    generate(tmp_path, seed=7)
    assert (tmp_path / FILES["leipzig"]).read_bytes() != (demo / FILES["leipzig"]).read_bytes()


@pytest.mark.parametrize("city", sorted(READERS))
def test_counts_and_coordinates_in_the_city(demo: Path, city: str) -> None:
    records = READERS[city](demo)
    assert len(records) == COUNTS[city]
    assert 2000 <= len(records) <= 4000
    minx, miny, maxx, maxy = BOXES[city]
    assert all(minx <= r["_xy"][0] <= maxx and miny <= r["_xy"][1] <= maxy for r in records)


def test_hamburg_geojson_has_legacy_crs_and_hamburg_fields(demo: Path) -> None:
    data = json.loads((demo / FILES["hamburg"]).read_text(encoding="utf-8"))
    assert data["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::25832"
    records = hamburg_records(demo)
    first = records[0]
    assert isinstance(first["baumid"], int) and isinstance(first["stammumfang"], int)
    assert len({r["baumid"] for r in records}) == len(records)
    assert {r["bezirk"] for r in records} == {
        "Altona",
        "Bergedorf",
        "Eimsbüttel",
        "Hamburg-Mitte",
        "Hamburg-Nord",
        "Harburg",
        "Wandsbek",
    }
    assert any(r["pflanzjahr"] is None for r in records)
    assert all(re.fullmatch(r"20(19|2[0-4])-\d\d-\d\d", r["stand"]) for r in records)


def test_leipzig_csv_is_latin1_with_semicolons_and_decimal_commas(demo: Path) -> None:
    raw = (demo / FILES["leipzig"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # umlauts are single Latin-1 bytes
    text = raw.decode("latin-1")
    header = text.splitlines()[0]
    assert header == (
        "Baumnummer;Gattung;Art;Deutscher Name;Pflanzjahr;Stammdurchmesser_cm;Baumhoehe_m;"
        "Kronendurchmesser_m;Ortsteil;Strasse;Erfassungsdatum;X;Y"
    )
    assert "Gohlis-Süd" in text and "Spitz-Ahorn" in text and "Könneritzstraße" in text
    rows = leipzig_records(demo)
    decimal = re.compile(r"\d+,\d+")
    for column in ("Stammdurchmesser_cm", "Baumhoehe_m", "Kronendurchmesser_m", "X", "Y"):
        values = [r[column] for r in rows if r[column]]
        assert values and all(decimal.fullmatch(v) for v in values), column
    assert any(r["Pflanzjahr"] == "" for r in rows)
    assert all(re.fullmatch(r"\d\d\.\d\d\.20\d\d", r["Erfassungsdatum"]) for r in rows)


def test_geopackage_header_and_tables(demo: Path) -> None:
    path = demo / FILES["muenchen"]
    header = path.read_bytes()[:100]
    assert header[:16] == b"SQLite format 3\x00"
    assert header[68:72] == b"GPKG"  # application_id, big-endian in the file header
    assert struct.unpack(">i", header[60:64])[0] == 10300  # user_version
    con = sqlite3.connect(path)
    try:
        srs = {r[0] for r in con.execute("SELECT srs_id FROM gpkg_spatial_ref_sys")}
        assert srs == {-1, 0, 4326, 25832}
        contents = con.execute(
            "SELECT data_type, min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents "
            "WHERE table_name = 'baeume'"
        ).fetchone()
        geometry_column = con.execute(
            "SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns"
        ).fetchall()
        count = con.execute("SELECT count(*) FROM baeume").fetchone()[0]
        rtree = con.execute(
            "SELECT count(*), min(minx), min(miny), max(maxx), max(maxy) FROM rtree_baeume_geom"
        ).fetchone()
        extension = con.execute(
            "SELECT table_name, column_name, extension_name FROM gpkg_extensions"
        ).fetchall()
        blob, fid = con.execute("SELECT geom, fid FROM baeume ORDER BY fid LIMIT 1").fetchone()
        first_box = con.execute("SELECT * FROM rtree_baeume_geom WHERE id = ?", (fid,))
        box = first_box.fetchone()
    finally:
        con.close()
    assert contents[0] == "features" and contents[5] == 25832
    assert geometry_column == [("geom", "POINT", 25832)]
    assert count == COUNTS["muenchen"]
    assert rtree[0] == count
    assert rtree[1:] == pytest.approx(contents[1:5])
    assert extension == [("baeume", "geom", "gpkg_rtree_index")]
    srs_id, envelope, point = decode_gpkg_point(blob)
    assert srs_id == 25832 and point.geom_type == "Point"
    assert envelope == (point.x, point.x, point.y, point.y)
    _, minx, maxx, miny, maxy = box  # float32, rounded outwards: the box holds the point
    assert minx <= point.x <= maxx and miny <= point.y <= maxy
    assert maxx - minx < 1 and maxy - miny < 1


def test_ogrinfo_reads_the_geopackage(demo: Path) -> None:
    ogrinfo = require_command("ogrinfo")
    out = subprocess.run(
        [ogrinfo, "-ro", "-so", str(demo / FILES["muenchen"]), "baeume"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Feature Count: {COUNTS['muenchen']}" in out
    assert 'ID["EPSG",25832]' in out
    assert "Geometry: Point" in out


def test_ensure_demo_data_generates_once(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "cache"
    assert ensure_demo_data(target) == target
    expected = [
        *FILES.values(),
        *PLAN_FILES.values(),
        *BUILDING_FILES.values(),
        *STATION_FILES.values(),
        "manifest.json",
        "sensorthings",
    ]
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == sorted(
        expected
    )
    stamp = (target / FILES["muenchen"]).stat().st_mtime_ns
    monkeypatch.setenv("TWINBRIDGE_DEMO_DIR", str(target))
    assert ensure_demo_data() == target
    assert (target / FILES["muenchen"]).stat().st_mtime_ns == stamp


def test_ensure_demo_data_completes_a_partial_folder(tmp_path: Path) -> None:
    (tmp_path / FILES["hamburg"]).write_text("half written")
    ensure_demo_data(tmp_path)
    assert json.loads((tmp_path / FILES["hamburg"]).read_text(encoding="utf-8"))["features"]


def test_command_line_writes_the_files(tmp_path: Path, capsys) -> None:
    main([str(tmp_path)])
    assert "3000 trees" in capsys.readouterr().out
    assert all((tmp_path / name).is_file() for name in FILES.values())


def test_demo_yaml_parses(demo: Path, monkeypatch) -> None:
    monkeypatch.setenv("TWINBRIDGE_DEMO_DIR", str(demo))
    monkeypatch.setenv("TWINBRIDGE_DEMO_SERVICES", SERVICES)
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    loaded = parse_config(data, str(DEMO_CONFIG), DEMO_CONFIG.parent)
    tenants = loaded.config.tenants
    assert {t: list(c.collections) for t, c in tenants.items()} == {
        "hamburg": ["strassenbaeume", "bebauungsplaene", "barrieren", "ladesaeulen"],
        "leipzig": ["baumkataster", "bebauungsplaene", "gebaeude", "ladeeinrichtungen"],
        "muenchen": ["baeume", "gebaeude", "barrieren"],
        "rotterdam": ["luchtkwaliteit"],
        "aarhus": ["luftkvalitet"],
    }
    for tenant in tenants.values():
        for cid, collection in tenant.collections.items():
            if "path" not in collection.source.options():  # read live over HTTP
                assert collection.source.options()["url"].startswith(SERVICES)
                continue
            profile = {
                "bebauungsplaene": "land-use-plans",
                "gebaeude": "buildings",
                "ladesaeulen": "ev-charging-stations",
                "ladeeinrichtungen": "ev-charging-stations",
            }.get(cid, "street-trees")
            assert collection.profile == profile
            assert Path(collection.source.options()["path"]).parent == demo
            assert Path(collection.source.options()["path"]).is_file()


def test_every_profile_property_is_mapped_in_every_collection(demo: Path, monkeypatch) -> None:
    monkeypatch.setenv("TWINBRIDGE_DEMO_DIR", str(demo))
    monkeypatch.setenv("TWINBRIDGE_DEMO_SERVICES", SERVICES)
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    loaded = parse_config(data, str(DEMO_CONFIG), DEMO_CONFIG.parent)
    for tid, tenant in loaded.config.tenants.items():
        for cid, collection in tenant.collections.items():
            if tid in ("rotterdam", "aarhus"):  # sensor stations: no profile (yet)
                assert collection.profile is None and collection.mapping is not None
                continue
            assert collection.profile is not None and collection.mapping is not None
            # the federation sets `tenant`
            expected = set(profiles.get(collection.profile).properties()) - {"tenant"}
            assert set(collection.mapping.properties) == expected, f"{tid}/{cid}"
            assert collection.mapping.id
