"""GDAL's OAPIF driver (Debian gdal-bin) as a real client of the running gateway."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

import profiles
from tests.conftest import free_port, require_command
from tests.postgis_fixtures import TREE_COUNT, PostGIS, postgis_fixture  # noqa: F401

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


@contextmanager
def serving_with_log(log: Path, env: dict[str, str], *args: str) -> Iterator[str]:
    """A gateway whose access log (one line per request, with its query) goes to `log`."""
    port = free_port()
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [*command, "--log-level", "info", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def logged_gateway(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("gdal-log") / "access.log"
    with serving_with_log(log, {"TWINBRIDGE_DEMO_DIR": str(demo_dir)}) as url:
        yield url, log


def test_where_and_spat_are_pushed_to_the_gateway(logged_gateway):
    require_command("ogrinfo")
    url, log = logged_gateway
    where = "genus = 'Tilia' AND planting_year > 1980"
    out = run(
        "ogrinfo",
        "-ro",
        "-al",
        "-q",
        "-where",
        where,
        "-spat",
        "9.9",
        "53.5",
        "10.1",
        "53.6",
        f"OAPIF:{url}/hamburg/",
        "strassenbaeume",
    )
    expected = httpx.get(
        f"{url}/hamburg/collections/strassenbaeume/items",
        params={"filter": where, "bbox": "9.9,53.5,10.1,53.6", "limit": 10000},
    ).json()
    assert (
        len([line for line in out.splitlines() if line.startswith("OGRFeature")])
        == (expected["numberMatched"])
        > 0
    )
    requests = [line for line in log.read_text().splitlines() if "/items" in line]
    pushed = [line for line in requests if "filter=" in line and "bbox=" in line]
    assert pushed, "GDAL filtered client-side: no items request carried filter and bbox"


def test_ogr2ogr_pages_a_postgis_collection_by_cursor(postgis: PostGIS, tmp_path: Path):
    """GDAL follows next links as given: over PostGIS they carry keyset cursors."""
    require_command("ogr2ogr")
    names = [n for n in profiles.get("street-trees").properties() if n != "tenant"]
    collection = {
        "profile": "street-trees",
        "source": {"connector": "postgis", **postgis.options("trees")},
        "mapping": {"id": "fid", "properties": {n: n for n in names}},
    }
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump({"tenants": {"db": {"collections": {"trees": collection}}}}))
    log, target = tmp_path / "access.log", tmp_path / "copy.gpkg"
    with serving_with_log(log, {}, "--config", str(config)) as url:
        source = f"OAPIF:{url}/db/"
        run("ogr2ogr", "-oo", "PAGE_SIZE=300", "-f", "GPKG", str(target), source, "trees")
    with sqlite3.connect(target) as db:
        ids = sorted(int(row[0]) for row in db.execute('SELECT fid FROM "trees"'))
    assert ids == list(range(1, TREE_COUNT + 1))
    pages = [line for line in log.read_text().splitlines() if "/db/collections/trees/items" in line]
    assert len([line for line in pages if "cursor=" in line]) >= TREE_COUNT // 300 - 1
    assert not any("offset=" in line for line in pages)
