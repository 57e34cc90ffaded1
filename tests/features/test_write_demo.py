"""The demo's München tree cadastre takes writes with the key the README documents, through
its real mapping (district numbers, centimetres, the crown's radius, genus codes), and
refuses them without it. The demo's own file stays untouched: the test writes to a copy."""

from __future__ import annotations

import shutil
import sqlite3
from importlib import resources
from pathlib import Path

import orjson
import yaml

from tests.features.write_fixtures import client_for

DEMO_KEY = "muenchen-demo-write-key"
README = Path(__file__).resolve().parents[2] / "README.md"
ITEMS = "/muenchen/collections/baeume/items"


def demo_tenant(copy: Path) -> dict:
    with resources.as_file(resources.files("gateway.demo") / "demo.yaml") as path:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    tenant = raw["tenants"]["muenchen"]
    collection = tenant["collections"]["baeume"]
    collection["source"]["path"] = str(copy)
    return {"access": tenant["access"], "collections": {"baeume": collection}}


def test_the_demo_trees_take_writes_with_the_documented_key(demo_dir: Path, tmp_path: Path) -> None:
    assert DEMO_KEY in README.read_text(encoding="utf-8")
    copy = tmp_path / "muenchen.gpkg"
    shutil.copy(demo_dir / "muenchen.gpkg", copy)
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [11.5667, 48.1500]},
        "properties": {
            "species_scientific": "Tilia cordata",
            "species_german": "Winter-Linde",
            "genus": "Tilia",
            "planting_year": 2024,
            "height_m": 3.5,
            "crown_diameter_m": 1.5,
            "trunk_circumference_cm": 20,
            "district": "Maxvorstadt",
            "street": None,
            "last_update": "2024-10-01",
        },
    }
    headers = {"Content-Type": "application/geo+json"}
    with client_for({"muenchen": demo_tenant(copy)}, tmp_path) as client:
        assert client.post(ITEMS, content=orjson.dumps(feature), headers=headers).status_code == 401
        answer = client.post(
            ITEMS, content=orjson.dumps(feature), headers={**headers, "X-API-Key": DEMO_KEY}
        )
        assert answer.status_code == 201, answer.text
        read = client.get(answer.headers["location"]).json()
        assert read["properties"] == feature["properties"]
    fid = answer.headers["location"].rsplit("/", 1)[-1]
    with sqlite3.connect(copy) as conn:
        row = conn.execute(
            "SELECT stadtbezirk_nr, hoehe_cm, kronenradius_m, gattung_code FROM baeume"
            " WHERE baum_id = ?",
            (fid,),
        ).fetchone()
    assert row == (3, 350, 0.75, "TI")
