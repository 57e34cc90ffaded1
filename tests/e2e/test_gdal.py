"""GDAL's OAPIF driver (Debian gdal-bin) as a real client of the running gateway."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_command

pytestmark = pytest.mark.integration

TENANTS = {"hamburg": "strassenbaeume", "leipzig": "baumkataster", "muenchen": "baeume"}


def run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def number_matched(url: str) -> int:
    return httpx.get(f"{url}/items?limit=1", timeout=30).json()["numberMatched"]


@pytest.mark.parametrize("root", ["", *(f"/{t}" for t in TENANTS)])
def test_ogrinfo_lists_the_collections(live_demo: str, root: str):
    require_command("ogrinfo")
    out = run("ogrinfo", "-ro", "-q", f"OAPIF:{live_demo}{root}/")
    expected = TENANTS[root[1:]] if root else "street-trees"
    assert expected in out


@pytest.mark.parametrize(
    ("root", "layer"),
    [
        ("/hamburg", "strassenbaeume"),
        ("/leipzig", "baumkataster"),
        ("/muenchen", "baeume"),
        ("", "street-trees"),
    ],
)
def test_ogr2ogr_copies_every_feature_into_a_geopackage(
    live_demo: str, tmp_path: Path, root, layer
):
    require_command("ogr2ogr")
    target = tmp_path / "copy.gpkg"
    run("ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{live_demo}{root}/", layer)
    with sqlite3.connect(target) as db:
        copied = db.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
        columns = {row[1] for row in db.execute(f'PRAGMA table_info("{layer}")')}
    assert copied == number_matched(f"{live_demo}{root}/collections/{layer}")
    assert {"species_scientific", "planting_year", "last_update"} <= columns
    if not root:
        assert "tenant" in columns


def test_ogrinfo_spatial_filter_is_sent_as_bbox(live_demo: str):
    require_command("ogrinfo")
    out = run(
        "ogrinfo",
        "-ro",
        "-so",
        "-spat",
        "9.9",
        "53.5",
        "10.0",
        "53.6",
        f"OAPIF:{live_demo}/hamburg/",
        "strassenbaeume",
    )
    count = int(out.split("Feature Count: ")[1].split()[0])
    expected = httpx.get(
        f"{live_demo}/hamburg/collections/strassenbaeume/items?bbox=9.9,53.5,10.0,53.6&limit=1"
    ).json()["numberMatched"]
    assert count == expected > 0
