"""The cost budget (issue 16, defect 2): what the gateway evaluates itself is bounded per
source call, in rows read and in seconds spent, and running out is the client's 400
QueryTooCostly, never a 504 or 502 the circuit breaker would count.

Over PostGIS (2,000 trees, a filter PostgreSQL cannot run exactly: CASEI), over a
GeoPackage read per request (a sort the source cannot run), over a file held in memory
(only time counts there: nothing is read per request) and through a federation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

import profiles
from gateway.app import create_app
from gateway.config import parse_config
from gateway.errors import QueryTooCostly
from gateway.query.budget import Budget
from tests.postgis_fixtures import TREE_COUNT, PostGIS, postgis_fixture  # noqa: F401

DEMO_YAML = Path(__file__).resolve().parents[2] / "gateway" / "demo" / "demo.yaml"
RESIDUAL = "CASEI(street) LIKE '%zzz%'"  # matches nothing; PostgreSQL cannot run CASEI


def test_a_meter_refuses_past_its_rows_or_seconds_naming_the_limit_and_the_remedy():
    meter = Budget(rows=3, source="hamburg/trees").meter()
    meter.charge(3, 0.0)
    with pytest.raises(QueryTooCostly) as refused:
        meter.charge(1, 0.0)
    assert refused.value.status == 400 and refused.value.code == "QueryTooCostly"
    text = refused.value.description
    assert "3 rows of 'hamburg/trees'" in text and "server.query.scan_rows" in text
    assert "narrow the query with bbox or a filter the source can run" in text
    slow = Budget(seconds=0.5).meter()
    with pytest.raises(QueryTooCostly, match="0.5 s .*scan_seconds"):
        slow.charge(1, 0.6)
    assert Budget().meter().keep(lambda i: i % 2 == 0, range(10_000))[-1] == 9998  # no limit


def test_keep_refuses_a_chunk_before_testing_it():
    tested: list[int] = []
    meter = Budget(rows=600).meter()
    with pytest.raises(QueryTooCostly):
        meter.keep(lambda i: tested.append(i) is None, range(2000))
    assert len(tested) == 512  # the second chunk of 512 would pass 600: not tested


def street_trees(source: dict[str, Any]) -> dict[str, Any]:
    names = [n for n in profiles.get("street-trees").properties() if n != "tenant"]
    mapping = {"id": "fid", "properties": {n: n for n in names}}
    return {"profile": "street-trees", "source": source, "mapping": mapping}


def app(tenants: dict[str, Any], base: Path, **limits: Any) -> TestClient:
    config = {"server": {"query": limits}, "tenants": tenants}
    return TestClient(create_app(parse_config(config, "budget.yaml", base)))


@pytest.fixture(scope="module")
def postgis_client(postgis: PostGIS) -> Iterator[TestClient]:
    """Hamburg's trees from PostGIS, alone and as a member of the federation."""
    trees = street_trees({"connector": "postgis", **postgis.options("trees")})
    with app({"hamburg": {"collections": {"trees": trees}}}, Path("."), scan_rows=500) as c:
        yield c


@pytest.mark.integration
def test_a_residual_filter_over_too_many_rows_is_a_400_naming_the_limit(postgis_client):
    response = postgis_client.get("/hamburg/collections/trees/items", params={"filter": RESIDUAL})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "QueryTooCostly"
    assert "500 rows of 'hamburg/trees'" in body["description"]


@pytest.mark.integration
def test_narrowing_with_a_bbox_the_source_runs_brings_it_within_the_budget(postgis_client):
    # a bbox of central Hamburg: some hundred trees read, each tested for the CASEI term
    params = {"filter": RESIDUAL, "bbox": "9.95,53.54,10.0,53.56"}
    response = postgis_client.get("/hamburg/collections/trees/items", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["numberReturned"] == 0


@pytest.mark.integration
def test_costly_queries_never_open_the_sources_circuit(postgis_client):
    for _ in range(8):  # more than breaker_failures (5)
        response = postgis_client.get(
            "/hamburg/collections/trees/items", params={"filter": RESIDUAL}
        )
        assert response.status_code == 400
    assert postgis_client.get("/hamburg/collections/trees/items?limit=1").status_code == 200
    ready = postgis_client.get("/ready")
    assert ready.status_code == 200 and "hamburg/trees" not in ready.text


@pytest.mark.integration
def test_a_federation_answers_the_members_400_not_a_partial_result(postgis_client):
    response = postgis_client.get("/collections/street-trees/items", params={"filter": RESIDUAL})
    assert response.status_code == 400 and response.json()["code"] == "QueryTooCostly"


@pytest.mark.integration
def test_the_default_budget_lets_a_residual_filter_through_a_small_table(postgis: PostGIS):
    trees = street_trees({"connector": "postgis", **postgis.options("trees")})
    with app({"hamburg": {"collections": {"trees": trees}}}, Path(".")) as client:
        params = {"filter": RESIDUAL, "limit": 10}
        response = client.get("/hamburg/collections/trees/items", params=params)
        assert response.status_code == 200 and response.json()["numberMatched"] == 0
        counted = client.get("/hamburg/collections/trees/items", params={"filter": "true"})
        assert counted.json().get("numberMatched", TREE_COUNT) == TREE_COUNT


def muenchen(demo_dir: Path, **source: Any) -> dict[str, Any]:
    demo = yaml.safe_load(DEMO_YAML.read_text())
    collection = demo["tenants"]["muenchen"]["collections"]["baeume"]
    collection["source"] = {
        "connector": "geopackage",
        "path": str(demo_dir / "muenchen.gpkg"),
        "table": "baeume",
        **source,
    }
    return {"muenchen": {"collections": {"baeume": collection}}}


def test_a_sort_the_source_cannot_run_counts_every_row_it_reads(demo_dir: Path):
    """München's genus is a code list: sorting by it reads every tree into the gateway."""
    tenants = muenchen(demo_dir, in_memory=False)
    with app(tenants, demo_dir, scan_rows=1000) as client:
        url = "/muenchen/collections/baeume/items?sortby=genus&limit=5"
        response = client.get(url)
        assert response.status_code == 400 and "1,000 rows" in response.json()["description"]
        narrowed = client.get(url + "&bbox=11.57,48.13,11.58,48.14")
        assert narrowed.status_code == 200, narrowed.text


def test_files_in_memory_are_bounded_by_time_not_rows(demo_dir: Path):
    """Nothing is read per request from a file held in memory: only evaluating costs."""
    with app(muenchen(demo_dir), demo_dir, scan_rows=1) as client:
        response = client.get("/muenchen/collections/baeume/items", params={"filter": RESIDUAL})
        assert response.status_code == 200, response.text
    with app(muenchen(demo_dir), demo_dir, scan_seconds=1e-9) as client:
        response = client.get("/muenchen/collections/baeume/items", params={"filter": RESIDUAL})
        assert response.status_code == 400
        assert "server.query.scan_seconds" in response.json()["description"]


def test_the_demo_answers_residual_filters_everywhere_with_the_default_budget(demo_client):
    for url in (
        "/collections/street-trees/items?filter=CASEI(street) LIKE '%straße%'",
        "/hamburg/collections/strassenbaeume/items?filter=street LIKE '%a%b%'&sortby=genus",
        "/collections/street-trees/items?filter=S_DWITHIN(geometry, POINT(10 53.55), 2, km)",
    ):
        response = demo_client.get(url)
        assert response.status_code == 200, (url, response.text)


def test_a_citys_30000_tree_file_answers_residual_filters_with_the_default_budget(tmp_path: Path):
    """The defaults must not refuse what a city's whole cadastre in one file asks."""
    import json
    import random

    rng = random.Random(30)
    streets = ["Elbchaussee", "Mönckebergstraße", "Jungfernstieg", "Osterstraße", "Hofweg"]
    features = [
        {
            "type": "Feature",
            "id": i,
            "properties": {"street": f"{rng.choice(streets)} {i % 200}", "height": i % 31},
            "geometry": {
                "type": "Point",
                "coordinates": [9.8 + rng.random() * 0.4, 53.45 + rng.random() * 0.2],
            },
        }
        for i in range(30_000)
    ]
    path = tmp_path / "trees.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    trees = {"source": {"connector": "geojson", "path": str(path)}}
    with app({"hamburg": {"collections": {"trees": trees}}}, tmp_path) as client:
        for text in (
            "CASEI(street) LIKE CASEI('%STRASSE 1%')",
            "street LIKE '%a%b%' OR height > 29",
            "S_INTERSECTS(geometry, POLYGON((9.9 53.5, 10.1 53.5, 10.1 53.6, 9.9 53.5)))",
            "S_DWITHIN(geometry, POINT(10 53.55), 500, m)",
        ):
            params = {"filter": text, "limit": 5}
            response = client.get("/hamburg/collections/trees/items", params=params)
            assert response.status_code == 200, (text, response.text)
            assert response.json()["numberMatched"] > 0, text


@pytest.mark.integration
def test_the_source_is_asked_for_no_more_rows_than_the_budget_allows(postgis_client, monkeypatch):
    from connectors.postgis import PostGISConnector

    asked: list[Any] = []
    original = PostGISConnector.query

    async def spy(self: Any, q: Any) -> Any:
        asked.append(q)
        return await original(self, q)

    monkeypatch.setattr(PostGISConnector, "query", spy)
    response = postgis_client.get("/hamburg/collections/trees/items", params={"filter": RESIDUAL})
    assert response.status_code == 400
    assert [q.limit for q in asked] == [501]  # scan_rows 500, and one more to know
