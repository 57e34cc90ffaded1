"""pygeoapi's providers behind the adapter answer the pushdown differential corpus exactly
like the reference evaluation (tests/test_pushdown_differential.py, München's demo trees).

The same trees, with the demo's mapping (codes, unit factors, a template, a date cast), are
served by pygeoapi's GeoJSON provider (a file written by ogr2ogr: nothing is pushed but
paging, the gateway evaluates the rest) and by its PostgreSQL provider (the table copied by
ogr2ogr, in EPSG:4326: filters, boxes and paging pushed as connectors/pygeoapi/providers.py
says); for every generated CQL2 filter each returns the ids a pure in-process evaluation
of the filter over the mapped features selects.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from gateway.query.cql2 import parse
from gateway.query.evaluate import compile_predicate
from tests.conftest import require_command
from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401
from tests.test_pushdown_differential import DEMO_YAML, filters

pytestmark = pytest.mark.integration
PATHS = ("geojson", "postgresql")


def ogr2ogr(*args: str) -> None:
    subprocess.run(
        [require_command("ogr2ogr"), *args], check=True, capture_output=True, timeout=120
    )


@pytest.fixture(scope="module")
def client(demo_dir: Path, postgis: PostGIS, tmp_path_factory) -> Iterator[TestClient]:  # noqa: F811
    gpkg = demo_dir / "muenchen.gpkg"
    folder = tmp_path_factory.mktemp("pygeoapi-muc")
    ogr2ogr("-f", "GeoJSON", "-t_srs", "EPSG:4326", "-lco", "ID_FIELD=baum_id",
            str(folder / "baeume.geojson"), str(gpkg), "baeume")  # fmt: skip
    pg = f"PG:host={postgis.host} port={postgis.port} user={postgis.user} dbname={postgis.database}"
    ogr2ogr("-f", "PostgreSQL", pg, str(gpkg), "baeume", "-nln", "baeume_muc84",
            "-t_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid",
            "-overwrite")  # fmt: skip
    data = {
        "host": postgis.host,
        "port": postgis.port,
        "dbname": postgis.database,
        "user": postgis.user,
        "password": "",
    }
    providers: dict[str, dict[str, Any]] = {
        "geojson": {"name": "GeoJSON", "data": "baeume.geojson", "id_field": "baum_id"},
        "postgresql": {
            "name": "PostgreSQL",
            "data": data,
            "id_field": "baum_id",
            "table": "baeume_muc84",
        },
    }
    demo = yaml.safe_load(DEMO_YAML.read_text())
    base = demo["tenants"]["muenchen"]["collections"]["baeume"]
    sources = {"memory": {"connector": "geopackage", "path": str(gpkg), "table": "baeume"}}
    # the GeoJSON provider parses its whole file per call: one call per query, not two
    sizes = {"geojson": 5000, "postgresql": 1000}
    sources |= {
        k: {"connector": "pygeoapi", "provider": p, "page_size": sizes[k]}
        for k, p in providers.items()
    }
    tenants = {}
    for name, source in sources.items():
        collection = copy.deepcopy(base)
        collection["source"] = source
        tenants[name] = {"collections": {"baeume": collection}}
    config = {"server": {"max_limit": 10000, "query": {"scan_seconds": 60}}, "tenants": tenants}
    loaded = parse_config(config, str(folder / "differential.yaml"), folder)
    with TestClient(create_app(loaded)) as c:
        yield c


@pytest.fixture(scope="module")
def reference(client: TestClient) -> list[dict]:
    doc = client.get("/memory/collections/baeume/items?limit=10000").json()
    assert doc["numberMatched"] == len(doc["features"]) > 1000
    return doc["features"]


def test_the_providers_serve_the_reference_features(client: TestClient, reference):
    by_id = {str(f["id"]): f for f in reference}
    for path in PATHS:
        doc = client.get(f"/{path}/collections/baeume/items?limit=10000").json()
        assert doc["numberMatched"] == len(reference), path
        for feature in doc["features"]:
            expected = by_id[str(feature["id"])]
            assert feature["properties"] == expected["properties"], path
            got, want = feature["geometry"]["coordinates"], expected["geometry"]["coordinates"]
            assert got == pytest.approx(want, abs=1e-7), path


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=filters())
def test_every_provider_selects_what_the_reference_evaluation_selects(client, reference, text):
    test = compile_predicate(parse(text, "cql2-text"))
    expected = sorted(str(f["id"]) for f in reference if test(f))
    for path in PATHS:
        response = client.get(
            f"/{path}/collections/baeume/items", params={"filter": text, "limit": 10000}
        )
        assert response.status_code == 200, (path, text, response.text)
        doc = response.json()
        assert sorted(str(f["id"]) for f in doc["features"]) == expected, (path, text)
        if "numberMatched" in doc:
            assert doc["numberMatched"] == len(expected), (path, text)
