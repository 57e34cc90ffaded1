"""The demo land-use plans: two cities' XPlanSynWFS dialects, and demo.yaml mapping both onto
the land-use-plans profile. Files are read with json and the rules applied plainly (as in
test_demo_fits_profile), so this checks the data and the YAML, not the mapping engine."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import yaml
from pyproj import Transformer

import profiles
from gateway.config import CollectionConfig, parse_config
from gateway.demo import DEMO_CONFIG
from gateway.demo.places import HAMBURG_BOX, LEIPZIG_BOX
from gateway.demo.plans import AGS, CRS, IN_PROCEDURE, PLAN_COUNTS, PLAN_FILES
from tests.demo.test_demo_fits_profile import apply

BOXES = {"hamburg": HAMBURG_BOX, "leipzig": LEIPZIG_BOX}
GERMAN = "%d.%m.%Y"


def _read(folder: Path, city: str) -> dict[str, Any]:
    return json.loads((folder / PLAN_FILES[city]).read_text(encoding="utf-8"))


def _records(folder: Path, city: str) -> list[dict[str, Any]]:
    return [
        {**f["properties"], "_geometry": f["geometry"]} for f in _read(folder, city)["features"]
    ]


@pytest.fixture(scope="module")
def collections(demo: Path) -> dict[str, CollectionConfig]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINBRIDGE_DEMO_DIR", str(demo))
        mp.setenv("TWINBRIDGE_DEMO_SERVICES", "http://127.0.0.1:9")  # parsed, never reached
        data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
        loaded = parse_config(data, str(DEMO_CONFIG), DEMO_CONFIG.parent)
    return {city: loaded.config.tenants[city].collections["bebauungsplaene"] for city in BOXES}


@pytest.mark.parametrize("city", sorted(BOXES))
def test_plans_are_valid_multipolygons_in_the_city(demo: Path, city: str) -> None:
    data = _read(demo, city)
    code = CRS[city].split(":")[1]
    assert data["crs"]["properties"]["name"] == f"urn:ogc:def:crs:EPSG::{code}"
    assert len(data["features"]) == PLAN_COUNTS[city]
    minx, miny, maxx, maxy = BOXES[city]
    for feature in data["features"]:
        assert feature["geometry"]["type"] == "MultiPolygon"
        area = shapely.geometry.shape(feature["geometry"])
        assert area.is_valid and 3_000 < area.area < 500_000  # m², a block to a quarter
        assert all(poly.exterior.is_ccw for poly in area.geoms)  # GeoJSON's orientation
        x0, y0, x1, y1 = area.bounds
        assert minx - 3000 < x0 and x1 < maxx + 3000 and miny - 3000 < y0 and y1 < maxy + 3000
    parts = [len(f["geometry"]["coordinates"]) for f in data["features"]]
    assert 1 in parts and 2 in parts, "some plans have two separate areas"


def test_hamburg_gives_codes_names_and_iso_dates(demo: Path) -> None:
    plans = profiles.get("land-use-plans")
    for record in _records(demo, "hamburg"):
        assert plans.code_lists["planArt"][record["planArt"]] == record["planArtWert"]
        assert plans.code_lists["rechtsstand"][record["rechtsstand"]] == record["rechtsstandWert"]
        date.fromisoformat(record["aufstellungsbeschlussDatum"])
        assert record["gmlId"].startswith("Gml_") and record["xpVersion"] == "6.0"
        assert record["gemeinde"].startswith(f"[Gemeindeschlüssel: {AGS['hamburg']}|")
        assert record["name"] == record["nummer"]


def test_leipzig_gives_only_names_and_german_dates(demo: Path) -> None:
    plans = profiles.get("land-use-plans")
    records = _records(demo, "leipzig")
    for record in records:
        assert "planArt" not in record and "rechtsstand" not in record
        assert record["planArtWert"] in plans.code_lists["planArt"].values()
        assert record["rechtsstandWert"] in (None, *plans.code_lists["rechtsstand"].values())
        datetime.strptime(record["aufstellungsbeschlussDatum"], GERMAN)
        assert isinstance(record["xplanMgrPlanId"], int)
    assert any(r["rechtsstandWert"] is None for r in records)
    assert any(r["nummer"] is None for r in records)


def _dates(record: dict[str, Any], city: str) -> list[date | None]:
    names = ("aufstellungsbeschlussDatum", "satzungsbeschlussDatum", "inkrafttretensDatum")
    parse = date.fromisoformat if city == "hamburg" else (lambda t: datetime.strptime(t, GERMAN))
    return [None if record[n] is None else parse(record[n]) for n in names]


@pytest.mark.parametrize("city", sorted(BOXES))
def test_dates_fit_the_legal_status(demo: Path, collections, city: str) -> None:
    status = collections[city].mapping.rules()["rechtsstand"]
    for record in _records(demo, city):
        code = apply(status, record)
        start, adopted, in_force = _dates(record, city)
        if code in IN_PROCEDURE:
            assert adopted is None and in_force is None, record
        elif code == "3000":
            assert start < adopted and in_force is None, record
        elif code is not None:
            assert start < adopted < in_force, record


def _feature(collection: CollectionConfig, record: dict[str, Any], crs: str) -> dict[str, Any]:
    to_crs84 = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True).transform
    geometry = shapely.transform(
        shapely.geometry.shape(record["_geometry"]), lambda xy: np.column_stack(to_crs84(*xy.T))
    )
    return {
        "type": "Feature",
        "id": record[collection.mapping.id],
        "geometry": shapely.geometry.mapping(geometry),
        "properties": {k: apply(r, record) for k, r in collection.mapping.rules().items()},
    }


@pytest.mark.parametrize("city", sorted(BOXES))
def test_every_plan_validates_after_mapping(demo: Path, collections, city: str) -> None:
    plans = profiles.get("land-use-plans")
    records = _records(demo, city)
    features = [_feature(collections[city], r, CRS[city]) for r in records]
    for feature in features:
        assert plans.validate(json.loads(json.dumps(feature))) == [], feature
        assert feature["properties"]["ags"] == AGS[city]
    assert len({f["id"] for f in features}) == len(features), "unique ids"
    kinds = {f["properties"]["planArt"] for f in features}
    assert {"10001", "1000", "3000"} <= kinds


def test_hamburg_document_template_gives_the_url_inside_externe_referenz(
    demo: Path, collections
) -> None:
    rule = collections["hamburg"].mapping.rules()["externeReferenz"]
    for record in _records(demo, "hamburg"):
        assert record["externeReferenz"] == f"[{apply(rule, record)} | Rechtsplan]"


def test_leipzig_links_documents_of_adopted_plans_only(demo: Path) -> None:
    for record in _records(demo, "leipzig"):
        adopted = record["satzungsbeschlussDatum"] is not None
        assert (record["externeReferenz"] is not None) == adopted
        if adopted:
            assert record["externeReferenz"].startswith("https://")


def test_leipzig_code_lists_invert_the_profile_code_lists(collections) -> None:
    plans = profiles.get("land-use-plans")
    rules = collections["leipzig"].mapping.rules()
    for name in ("planArt", "rechtsstand"):
        assert rules[name].codes == {label: code for code, label in plans.code_lists[name].items()}


def test_plan_files_keep_the_demo_small(demo: Path) -> None:
    assert sum((demo / name).stat().st_size for name in PLAN_FILES.values()) < 150_000
