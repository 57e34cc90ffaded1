"""Real clients read a WFS-backed collection completely: GDAL's OAPIF driver (ogr2ogr) and
OWSLib's Features, through a live TwinBridge whose collection is a `wfs` source over the
real MapServer (tests/mapserver.py), paging to the end across the WFS's own pages."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from owslib.ogcapi.features import Features

from tests.conftest import require_command, start_gateway
from tests.mapserver import MapServerHandle, mapserver_trees_fixture  # noqa: F401
from tests.ogcapi_fixtures import street_trees
from tests.postgis_fixtures import TREE_COUNT, PostGIS, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(
    mapserver_trees: MapServerHandle,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    wfs = {"connector": "wfs", "url": mapserver_trees.wfs_url("trees"), "type_name": "trees"}
    wfs |= {"id_field": "fid", "empty_is_null": True, "page_size": 700}
    wfs |= {"field_types": {"last_update": "date"}}
    config = {"tenants": {"hamburg": {"collections": {"baeume": street_trees(wfs, "fid")}}}}
    path = tmp_path_factory.mktemp("wfs-clients") / "twinbridge.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    proc, url = start_gateway({}, "--config", str(path))
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ogr2ogr_copies_every_feature_of_a_wfs_backed_collection(gateway: str, tmp_path: Path):
    require_command("ogr2ogr")
    target = tmp_path / "copy.gpkg"
    done = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{gateway}/hamburg/", "baeume"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(target) as db:
        copied = db.execute('SELECT count(*) FROM "baeume"').fetchone()[0]
        distinct = db.execute('SELECT count(DISTINCT geom) FROM "baeume"').fetchone()[0]
        columns = {row[1] for row in db.execute('PRAGMA table_info("baeume")')}
    assert copied == TREE_COUNT and distinct > TREE_COUNT * 0.9
    assert {"species_scientific", "planting_year", "last_update"} <= columns


def test_owslib_pages_a_wfs_backed_collection_to_the_end(gateway: str):
    api = Features(f"{gateway}/hamburg/")
    assert "baeume" in api.feature_collections()
    ids: list[int] = []
    offset = 0
    while True:  # OWSLib does not follow next links: it pages by offset
        page = api.collection_items("baeume", limit=300, offset=offset)
        ids.extend(f["id"] for f in page["features"])
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 300
    assert sorted(ids) == list(range(1, TREE_COUNT + 1))
    assert api.collection_item("baeume", "7")["id"] == 7
