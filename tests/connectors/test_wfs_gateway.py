"""A WFS-backed collection served by the gateway from one YAML block: its items, paging by
next links to the end, a filter, a bbox and single items answer as the same table read by
the postgis connector does; an upstream exception report is a 502 naming the source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import load_config
from tests.mapserver import MapServerHandle, mapserver_trees_fixture  # noqa: F401
from tests.postgis_fixtures import TREE_COLUMNS, TREE_COUNT, PostGIS, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration

CONFIG = """
tenants:
  hamburg:
    collections:
      trees-wfs:
        profile: street-trees
        source:
          connector: wfs
          url: "{wfs}"
          type_name: ms:trees
          id_field: fid
          page_size: 300
          empty_is_null: true
          field_types: {{last_update: date}}
        mapping: {{properties: {{{props}}}}}
      trees-wfs-dates:
        profile: street-trees
        source:
          connector: wfs
          url: "{wfs}"
          type_name: ms:trees
          id_field: fid
          empty_is_null: true
          field_types: {{last_update: date}}
          pushdown: {{dates: true}}
        mapping: {{properties: {{{props}}}}}
      trees-db:
        profile: street-trees
        source:
          connector: postgis
          host: {db.host}
          port: {db.port}
          user: {db.user}
          database: {db.database}
          table: trees
        mapping: {{properties: {{{props}}}}}
      broken:
        source:
          connector: wfs
          url: "{wfs}"
          type_name: trees
          id_field: fid
          srs_name: "EPSG:99999"
"""


@pytest.fixture(scope="module")
def client(
    mapserver_trees: MapServerHandle, postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("wfs-gateway")
    props = ", ".join(f"{f}: {f}" for f in TREE_COLUMNS)
    text = CONFIG.format(wfs=mapserver_trees.wfs_url("trees"), db=postgis, props=props)
    (folder / "twinbridge.yaml").write_text(text, encoding="utf-8")
    with TestClient(create_app(load_config(folder / "twinbridge.yaml"))) as c:
        yield c


def walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        doc = response.json()
        features += doc["features"]
        url = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), "")
        url = url.split("testserver", 1)[-1]
    return features


def by_id(features: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {f["id"]: f for f in features}


def test_paging_by_next_links_reads_every_tree_as_postgis_has_it(client: TestClient) -> None:
    wfs = walk(client, "/hamburg/collections/trees-wfs/items?limit=700")
    db = walk(client, "/hamburg/collections/trees-db/items?limit=1000")
    assert len(wfs) == TREE_COUNT == len(by_id(wfs))
    assert by_id(wfs) == by_id(db)


def test_the_first_page_counts_every_tree(client: TestClient) -> None:
    doc = client.get("/hamburg/collections/trees-wfs/items?limit=5").json()
    assert doc["numberMatched"] == TREE_COUNT and doc["numberReturned"] == 5


@pytest.mark.parametrize(
    "query",
    [
        "filter=district='Altona' AND height_m > 15",
        "filter=street IS NULL",
        "bbox=9.95,53.55,10.0,53.6",
        "bbox=9.95,53.55,10.0,53.6&filter=genus LIKE 'T%'",
    ],
)
def test_filters_and_bboxes_select_as_postgis(client: TestClient, query: str) -> None:
    wfs = walk(client, f"/hamburg/collections/trees-wfs/items?limit=400&{query}")
    db = walk(client, f"/hamburg/collections/trees-db/items?limit=400&{query}")
    assert by_id(wfs) == by_id(db) and len(wfs) > 0


def test_a_filter_the_server_declares_goes_down_as_fes(
    client: TestClient, mapserver_trees: MapServerHandle
) -> None:
    before = len(mapserver_trees.requests("FILTER="))
    doc = client.get(
        "/hamburg/collections/trees-wfs/items?limit=3&filter=district='Altona' AND height_m > 15"
    ).json()
    assert len(doc["features"]) == 3
    sent = mapserver_trees.requests("FILTER=")[before:]
    assert len(sent) == 1 and "PropertyIsGreaterThan" in sent[0]


@pytest.mark.parametrize(
    ("collection", "pushed"), [("trees-wfs", False), ("trees-wfs-dates", True)]
)
def test_date_filters_go_down_only_where_the_operator_says_the_server_compares_dates(
    client: TestClient, mapserver_trees: MapServerHandle, collection: str, pushed: bool
) -> None:
    query = "filter=last_update < DATE('2023-06-01') AND district='Altona'"
    before = len(mapserver_trees.requests("GetFeature"))
    wfs = walk(client, f"/hamburg/collections/{collection}/items?limit=400&{query}")
    sent = mapserver_trees.requests("GetFeature")[before:]
    db = walk(client, f"/hamburg/collections/trees-db/items?limit=400&{query}")
    assert by_id(wfs) == by_id(db) and len(wfs) > 0
    assert any("last_update" in line for line in sent) is pushed


def test_sorting_orders_as_postgis(client: TestClient) -> None:
    query = "sortby=-height_m,species_scientific&filter=district='Bergedorf'"
    wfs = walk(client, f"/hamburg/collections/trees-wfs/items?limit=100&{query}")
    db = walk(client, f"/hamburg/collections/trees-db/items?limit=100&{query}")

    def keys(features: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (f["properties"]["height_m"], f["properties"]["species_scientific"]) for f in features
        ]

    assert keys(wfs) == keys(db) and by_id(wfs) == by_id(db) and len(wfs) > 100  # ties: any order


def test_an_item_by_id_and_an_unknown_one(client: TestClient) -> None:
    wfs = client.get("/hamburg/collections/trees-wfs/items/42")
    assert wfs.status_code == 200
    assert wfs.json() == client.get("/hamburg/collections/trees-db/items/42").json() | {
        "links": wfs.json()["links"]
    }
    assert client.get("/hamburg/collections/trees-wfs/items/999999").status_code == 404


def test_an_upstream_exception_report_is_a_502_naming_the_source(client: TestClient) -> None:
    response = client.get("/hamburg/collections/broken/items")
    assert response.status_code == 502
    assert "hamburg/broken" in response.json()["description"]
