"""The demo buildings: an ALKIS-style GeoPackage (Leipzig) and a flattened CityGML LoD2 model
(München), and demo.yaml mapping both onto the buildings profile. The files are read with
sqlite3 and json and the rules applied plainly (as in test_demo_fits_profile), so this checks
the data and the YAML, not the connectors or the mapping engine."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import yaml
from pyproj import Transformer
from shapely.geometry import shape

import profiles
from gateway.config import CollectionConfig, parse_config
from gateway.demo import DEMO_CONFIG
from gateway.demo.buildings import BUILDING_COUNTS, BUILDING_CRS, BUILDING_FILES, write_buildings
from gateway.demo.places import LEIPZIG_BOX, MUENCHEN_BOX
from tests.conftest import require_command
from tests.demo.sources import decode_gpkg_point
from tests.demo.test_demo_fits_profile import apply

CITIES = sorted(BUILDING_FILES)
PLACES_CRS = {"leipzig": "EPSG:25833", "muenchen": "EPSG:25832"}  # of the boxes in places.py
MAX_BYTES = 1_000_000  # the demo stays small: both files together well under a megabyte


def leipzig_records(folder: Path) -> list[dict[str, Any]]:
    con = sqlite3.connect(folder / BUILDING_FILES["leipzig"])
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in con.execute("SELECT * FROM ax_gebaeude ORDER BY fid")]
    finally:
        con.close()
    for row in rows:
        srs_id, envelope, geometry = decode_gpkg_point(row.pop("geom"))
        row["_srs_id"], row["_envelope"], row["_geometry"] = srs_id, envelope, geometry
    return rows


def muenchen_records(folder: Path) -> list[dict[str, Any]]:
    data = json.loads((folder / BUILDING_FILES["muenchen"]).read_text(encoding="utf-8"))
    return [{**f["properties"], "_geometry": shape(f["geometry"])} for f in data["features"]]


READERS = {"leipzig": leipzig_records, "muenchen": muenchen_records}


@pytest.fixture(scope="module")
def records(demo: Path) -> dict[str, list[dict[str, Any]]]:
    return {city: READERS[city](demo) for city in CITIES}


@pytest.fixture(scope="module")
def collections(demo: Path) -> dict[str, CollectionConfig]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINBRIDGE_DEMO_DIR", str(demo))
        mp.setenv("TWINBRIDGE_DEMO_SERVICES", "http://127.0.0.1:9")  # parsed, never reached
        data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
        loaded = parse_config(data, str(DEMO_CONFIG), DEMO_CONFIG.parent)
    return {city: loaded.config.tenants[city].collections["gebaeude"] for city in CITIES}


def _in_crs84(geometry: shapely.Geometry, crs: str) -> dict:
    to84 = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)
    moved = shapely.transform(geometry, lambda xy: _stack(to84.transform(xy[:, 0], xy[:, 1])))
    return shapely.geometry.mapping(moved)


def _stack(xy: tuple) -> Any:
    return np.column_stack(xy)


def to_feature(collection: CollectionConfig, record: dict[str, Any], city: str) -> dict:
    assert collection.mapping is not None and collection.mapping.id is not None
    return {
        "type": "Feature",
        "id": record[collection.mapping.id],
        "geometry": json.loads(json.dumps(_in_crs84(record["_geometry"], BUILDING_CRS[city]))),
        "properties": {k: apply(r, record) for k, r in collection.mapping.rules().items()},
    }


def test_two_runs_give_byte_identical_small_files(demo: Path, tmp_path: Path) -> None:
    assert write_buildings(tmp_path, 2024) == BUILDING_COUNTS
    sizes = 0
    for name in BUILDING_FILES.values():
        assert (tmp_path / name).read_bytes() == (demo / name).read_bytes(), name
        sizes += (demo / name).stat().st_size
    assert sizes < MAX_BYTES
    write_buildings(tmp_path, 7)
    assert (tmp_path / BUILDING_FILES["muenchen"]).read_bytes() != (
        demo / BUILDING_FILES["muenchen"]
    ).read_bytes()


def test_leipzig_is_a_multipolygon_geopackage_in_25833(demo: Path, records) -> None:
    con = sqlite3.connect(demo / BUILDING_FILES["leipzig"])
    try:
        column = con.execute("SELECT * FROM gpkg_geometry_columns").fetchone()
        srs = con.execute(
            "SELECT organization, organization_coordsys_id, definition"
            " FROM gpkg_spatial_ref_sys WHERE srs_id = 25833"
        ).fetchone()
        rtree = con.execute(
            "SELECT minx, maxx, miny, maxy FROM rtree_ax_gebaeude_geom ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    assert column == ("ax_gebaeude", "geom", "MULTIPOLYGON", 25833, 0, 0)
    assert srs[:2] == ("EPSG", 25833) and "zone 33N" in srs[2] and 'central_meridian",15' in srs[2]
    rows = records["leipzig"]
    assert len(rows) == BUILDING_COUNTS["leipzig"] == len(rtree)
    for row, box in zip(rows, rtree, strict=True):
        geometry = row["_geometry"]
        assert row["_srs_id"] == 25833 and geometry.geom_type == "MultiPolygon"
        minx, miny, maxx, maxy = geometry.bounds
        assert row["_envelope"] == pytest.approx((minx, maxx, miny, maxy))
        assert box == pytest.approx((minx, maxx, miny, maxy), abs=1.0)  # 32-bit floats
        assert row["gml_id"].startswith("DESNAL") and len(row["gml_id"]) == 16
        assert isinstance(row["gebaeudefunktion"], int)
        assert abs(row["grundflaeche"] - geometry.area) <= 1  # ALKIS gives whole m²


def test_muenchen_is_citygml_flattened_to_geojson_in_gauss_krueger(demo: Path, records) -> None:
    data = json.loads((demo / BUILDING_FILES["muenchen"]).read_text(encoding="utf-8"))
    assert data["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::31468"
    rows = records["muenchen"]
    assert len(rows) == BUILDING_COUNTS["muenchen"]
    assert {f["geometry"]["type"] for f in data["features"]} == {"Polygon"}
    for row in rows:
        assert row["function"].startswith("31001_") and row["measuredHeight_uom"] == "cm"
        assert isinstance(row["measuredHeight"], int)  # centimetres
        year = row["yearOfConstruction"]
        assert year is None or (isinstance(year, str) and year.isdigit())
        assert row["lod"] in ("LoD1", "LoD2")
        if row["lod"] == "LoD1":  # no roof modelled
            assert row["roofType"] is None and row["HoeheDach"] is None
        else:  # Bavaria's roof edges: absolute heights (m, DHHN2016) above the terrain
            assert row["HoeheGrund"] < row["NiedrigsteTraufeDesGebaeudes"] <= row["HoeheDach"]
            assert row["HoeheDach"] < row["HoeheGrund"] + row["measuredHeight"] / 100 + 0.02
        x, y = row["_geometry"].exterior.coords[0]
        assert 4_450_000 < x < 4_480_000 and 5_320_000 < y < 5_350_000  # GK zone 4, not UTM


@pytest.mark.parametrize("city", CITIES)
def test_footprints_are_valid_disjoint_and_in_the_city(records, city: str) -> None:
    box = {"leipzig": LEIPZIG_BOX, "muenchen": MUENCHEN_BOX}[city]
    to_utm = Transformer.from_crs(BUILDING_CRS[city], PLACES_CRS[city], always_xy=True)
    footprints = [r["_geometry"] for r in records[city]]
    for footprint in footprints:
        assert footprint.is_valid and 10 < footprint.area < 5_000  # a garage to a hospital
        polygons = getattr(footprint, "geoms", [footprint])
        assert all(p.exterior.is_ccw for p in polygons)  # GeoJSON's orientation
        x, y = to_utm.transform(*footprint.centroid.coords[0])
        assert box[0] < x < box[2] and box[1] < y < box[3]
    tree = shapely.STRtree(footprints)
    for i, footprint in enumerate(footprints):
        touching = [j for j in tree.query(footprint) if j != i]
        assert all(footprint.intersection(footprints[j]).area == 0 for j in touching)
    l_shapes = [f for f in footprints if len(getattr(f, "geoms", [f])[0].exterior.coords) == 7]
    assert l_shapes, "some buildings are L-shaped"


@pytest.mark.parametrize("city", CITIES)
def test_every_record_maps_to_a_valid_building(records, collections, city: str) -> None:
    buildings = profiles.get("buildings")
    features = [to_feature(collections[city], r, city) for r in records[city]]
    for feature in features:
        assert buildings.validate(feature) == [], feature
    assert len({f["id"] for f in features}) == len(features), "unique ids"
    props = [f["properties"] for f in features]
    assert len({p["function"] for p in props}) >= 8
    assert {p["lod"] for p in props} == ({1} if city == "leipzig" else {1, 2})


def test_heights_follow_function_storeys_and_roof(records, collections) -> None:
    for city in CITIES:
        for record in records[city]:
            p = to_feature(collections[city], record, city)["properties"]
            height, eaves, ridge = p["height_m"], p["eaves_height_m"], p["ridge_height_m"]
            if p["function"] == "garage":
                assert height is None or height < 4
            storeys = p["storeys_above_ground"]
            if height is not None and storeys and p["function"] != "religious":
                assert 2.4 * storeys < height < 8.5 * storeys + 8
            if p["function"] == "residential" and height is not None and storeys:
                assert 2.7 * storeys < height < 3.3 * storeys + 8
            if eaves is not None and ridge is not None:
                assert eaves <= ridge <= (height or ridge)
            if p["roof_type"] == "flat" and eaves is not None:
                assert ridge - eaves < 1
            low, high = (100, 130) if city == "leipzig" else (480, 560)
            assert low < p["ground_elevation_m"] < high and p["vertical_datum"] == "DHHN2016"


def test_both_cities_group_alkis_codes_alike(collections) -> None:
    """München's AdV CityGML codes are Leipzig's ALKIS codes prefixed with 31001_, and its
    roof names are the profile's German names: one grouping, two spellings."""
    leipzig = collections["leipzig"].mapping.rules()
    muenchen = collections["muenchen"].mapping.rules()
    prefixed = {f"31001_{k}": v for k, v in leipzig["function"].codes.items()}
    assert prefixed == muenchen["function"].codes
    names = profiles.get("buildings").code_lists["roof_type"]
    assert {names[v]: v for v in leipzig["roof_type"].codes.values()} == muenchen["roof_type"].codes
    assert set(leipzig["roof_type"].codes.values()) == set(names)


@pytest.mark.parametrize(
    ("city", "layer", "geometry", "epsg"),
    [
        ("leipzig", "ax_gebaeude", "Multi Polygon", 25833),
        ("muenchen", "Gebaeude_LoD2", "Polygon", 31468),
    ],
)
def test_ogrinfo_reads_both_files(demo: Path, city: str, layer: str, geometry: str, epsg: int):
    """GDAL, which a city's GIS would use, reads them as the formats they claim to be."""
    ogrinfo = require_command("ogrinfo")
    path = str(demo / BUILDING_FILES[city])
    out = subprocess.run(
        [ogrinfo, "-ro", "-so", path, layer], capture_output=True, text=True, check=True
    ).stdout
    assert f"Feature Count: {BUILDING_COUNTS[city]}" in out
    assert f'ID["EPSG",{epsg}]' in out
    assert f"Geometry: {geometry}" in out
