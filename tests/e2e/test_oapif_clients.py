"""Real clients read an OAPIF-backed collection completely: GDAL's OAPIF driver (ogr2ogr)
and OWSLib's Features, through the state TwinBridge whose collections are `oapif` sources
over two city TwinBridges (tests/ogcapi_fixtures.py), paging to the end by next links."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from owslib.ogcapi.features import Features

from tests.conftest import require_command
from tests.ogcapi_fixtures import SPLIT, Federation, federation, upstreams  # noqa: F401
from tests.postgis_fixtures import TREE_COUNT, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("root", "layer", "count"), [("/nord", "baeume", SPLIT), ("", "street-trees", TREE_COUNT)]
)
def test_ogr2ogr_copies_every_feature_of_an_oapif_backed_collection(
    federation: Federation,  # noqa: F811
    tmp_path: Path,
    root: str,
    layer: str,
    count: int,
):
    require_command("ogr2ogr")
    target = tmp_path / "copy.gpkg"
    done = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{federation.state}{root}/", layer],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(target) as db:
        copied = db.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
        distinct = db.execute(f'SELECT count(DISTINCT geom) FROM "{layer}"').fetchone()[0]
        columns = {row[1] for row in db.execute(f'PRAGMA table_info("{layer}")')}
    assert copied == count and distinct > count * 0.9
    assert {"species_scientific", "planting_year", "last_update"} <= columns


def test_owslib_pages_an_oapif_backed_collection_to_the_end(federation: Federation):  # noqa: F811
    api = Features(f"{federation.state}/sued/")
    assert "baeume" in api.feature_collections()
    ids: list[int] = []
    offset = 0
    while True:  # OWSLib does not follow next links: it pages by offset
        page = api.collection_items("baeume", limit=300, offset=offset)
        ids.extend(f["id"] for f in page["features"])
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 300
    assert sorted(ids) == list(range(SPLIT + 1, TREE_COUNT + 1))
    item = api.collection_item("baeume", str(SPLIT + 7))
    assert item["id"] == SPLIT + 7
