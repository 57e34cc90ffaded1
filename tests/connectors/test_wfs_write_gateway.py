"""OGC API – Features Part 4 through a `wfs` source into the WFS-T 2.0 test server
(tests/connectors/wfst_server.py, in front of the real MapServer over PostGIS): what a client
writes through the street-trees mapping reads back through the gateway (the read goes
through MapServer) and lies in PostGIS as sent; unknown ids are 404, a value the mapping
cannot store 400 naming the property, a stale If-Match 412; Part 4 is declared only where
the WFS takes Transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pyproj import Transformer
from starlette.testclient import TestClient

from connectors.wfs import WFSConnector
from tests.connectors.wfst_fixture import WfstTrees, wfst_trees_fixture  # noqa: F401
from tests.features.write_fixtures import client_for, sha, tree
from tests.postgis_fixtures import TREE_COLUMNS, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration
KEY = "wfst-writer-key-for-tests"
WRITE = {"X-API-Key": KEY, "Content-Type": "application/geo+json"}
PATCH = {"X-API-Key": KEY, "Content-Type": "application/merge-patch+json"}
ITEMS = "/hh/collections/baeume/items"
RAW = "/hh/collections/roh/items"  # no mapping: a PUT is a wfs:Replace
PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete"
TO_25832 = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
# the street is read from a template: it cannot be written back
MAPPING: dict[str, Any] = {
    "id": "fid",
    "properties": {
        **{name: name for name in TREE_COLUMNS},
        "street": {"template": "{street}, Hamburg"},
    },
}


def source(url: str, **options: Any) -> dict[str, Any]:
    return {
        "connector": "wfs",
        "url": url,
        "type_name": "ms:trees",
        "id_field": "fid",
        "empty_is_null": True,
        "field_types": {"last_update": "date"},
        "writable": True,
        **options,
    }


@pytest.fixture(scope="module")
def client(wfst_trees: WfstTrees, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    access = {"api_keys": [{"id": "wfst", "sha256": sha(KEY), "scopes": ["write"]}]}
    mapserver = wfst_trees.mapserver.wfs_url("wfst")  # the same layer without Transaction
    tenants = {
        "hh": {
            "access": access,
            "collections": {
                "baeume": {
                    "profile": "street-trees",
                    "source": source(wfst_trees.url),
                    "mapping": MAPPING,
                },
                "roh": {"source": source(wfst_trees.url)},
            },
        },
        "ms": {
            "access": access,
            "collections": {
                "baeume": {
                    "profile": "street-trees",
                    "source": source(mapserver),
                    "mapping": MAPPING,
                },
            },
        },
    }
    with client_for(tenants, tmp_path_factory.mktemp("wfst-gateway")) as c:
        yield c


def create(client: TestClient, feature: dict[str, Any], url: str = ITEMS) -> Any:
    return client.post(url, content=orjson.dumps(feature), headers=WRITE)


def fid_of(location: str) -> int:
    return int(location.rsplit("/", 1)[-1])


def test_a_created_tree_reads_back_through_mapserver_and_lies_in_postgis_as_sent(
    client: TestClient, wfst_trees: WfstTrees
) -> None:
    answer = create(client, tree())
    assert answer.status_code == 201, answer.text
    location = answer.headers["location"]
    assert location.startswith("http://testserver/hh/collections/baeume/items/")
    fid = fid_of(location)
    assert fid > 50  # a key the table's identity made
    read = client.get(location)
    assert read.status_code == 200 and read.headers["etag"] == answer.headers["etag"]
    feature = read.json()
    assert feature["properties"] == tree()["properties"]
    assert feature["geometry"]["coordinates"] == pytest.approx([9.95, 53.55], abs=1e-9)
    row = wfst_trees.rows("fid = $1", fid)[fid]
    assert (row["species_scientific"], row["genus"], row["district"]) == (
        "Tilia cordata",
        "Tilia",
        "Altona",
    )
    assert float(row["height_m"]) == 12.5 and row["street"] is None
    assert str(row["last_update"]) == "2024-03-01"
    assert (row["x"], row["y"]) == pytest.approx(TO_25832.transform(9.95, 53.55), abs=1e-6)


def test_update_replace_and_delete_reach_postgis(client: TestClient, wfst_trees: WfstTrees) -> None:
    url = create(client, tree()).headers["location"]
    fid = fid_of(url)
    patch = {
        "properties": {"height_m": 15.5},
        "geometry": {"type": "Point", "coordinates": [9.96, 53.56]},
    }
    done = client.patch(url, content=orjson.dumps(patch), headers=PATCH)
    assert done.status_code == 204, done.text
    row = wfst_trees.rows("fid = $1", fid)[fid]
    assert float(row["height_m"]) == 15.5 and row["species_german"] == "Winter-Linde"
    assert (row["x"], row["y"]) == pytest.approx(TO_25832.transform(9.96, 53.56), abs=1e-6)
    assert client.get(url).json()["properties"] == {**tree()["properties"], "height_m": 15.5}
    # through the collection without mapping, PUT is a wfs:Replace: left out becomes NULL
    raw = f"http://testserver{RAW}/{fid}"
    nulled = client.patch(raw, content=b'{"properties": {"planting_year": null}}', headers=PATCH)
    assert nulled.status_code == 204, nulled.text  # the profile would need it: no profile here
    assert wfst_trees.rows("fid = $1", fid)[fid]["planting_year"] is None
    assert client.get(raw).json()["properties"]["planting_year"] is None
    here = {"type": "Point", "coordinates": [9.97, 53.57]}  # MapServer hides rows without one
    short = {"type": "Feature", "geometry": here, "properties": {"species_scientific": "Acer"}}
    refused = client.put(raw, content=orjson.dumps(short), headers=WRITE)
    assert refused.status_code == 400  # the table's NOT NULL columns: the server's InvalidValue
    assert wfst_trees.rows("fid = $1", fid)[fid]["species_german"] == "Winter-Linde"
    required = {"species_german": "Spitz-Ahorn", "genus": "Acer", "district": "Mitte"}
    whole = {
        **short,
        "properties": {**short["properties"], **required, "last_update": "2025-01-02"},
    }
    replaced = client.put(raw, content=orjson.dumps(whole), headers=WRITE)
    assert replaced.status_code == 204, replaced.text
    row = wfst_trees.rows("fid = $1", fid)[fid]
    assert (row["species_scientific"], row["genus"], str(row["last_update"])) == (
        "Acer",
        "Acer",
        "2025-01-02",
    )
    assert row["height_m"] is None and row["planting_year"] is None  # left out: NULL
    assert (row["x"], row["y"]) == pytest.approx(TO_25832.transform(9.97, 53.57), abs=1e-6)
    read = client.get(raw)
    assert read.status_code == 200, read.text
    assert read.json()["properties"]["fid"] == fid
    gone = client.delete(url, headers={"X-API-Key": KEY})
    assert gone.status_code == 204
    assert client.get(url).status_code == 404
    assert wfst_trees.rows("fid = $1", fid) == {}


def test_unknown_ids_are_404_and_nothing_changes(client: TestClient, wfst_trees: WfstTrees) -> None:
    before = wfst_trees.rows()
    url = f"{ITEMS}/999999"
    assert client.put(url, content=orjson.dumps(tree()), headers=WRITE).status_code == 404
    patch = client.patch(url, content=b'{"properties": {"height_m": 1}}', headers=PATCH)
    assert patch.status_code == 404
    assert client.delete(url, headers={"X-API-Key": KEY}).status_code == 404
    assert client.delete(f"{ITEMS}/abc", headers={"X-API-Key": KEY}).status_code == 404
    assert wfst_trees.rows() == before


def test_a_value_the_mapping_cannot_store_is_400_naming_the_property(
    client: TestClient, wfst_trees: WfstTrees
) -> None:
    before = len(wfst_trees.rows())
    answer = create(client, tree(street="Elbchaussee 1"))
    assert answer.status_code == 400
    assert answer.json()["description"].startswith("street:")
    assert len(wfst_trees.rows()) == before


def test_a_stale_if_match_is_412_and_the_tree_stays_as_it_was(
    client: TestClient, wfst_trees: WfstTrees
) -> None:
    created = create(client, tree())
    url, first = created.headers["location"], created.headers["etag"]
    fid = fid_of(url)
    changed = client.patch(
        url, content=b'{"properties": {"height_m": 20}}', headers={**PATCH, "If-Match": first}
    )
    assert changed.status_code == 204 and changed.headers["etag"] != first
    stale = client.put(url, content=orjson.dumps(tree()), headers={**WRITE, "If-Match": first})
    assert stale.status_code == 412
    assert float(wfst_trees.rows("fid = $1", fid)[fid]["height_m"]) == 20.0
    again = client.delete(url, headers={"X-API-Key": KEY, "If-Match": changed.headers["etag"]})
    assert again.status_code == 204


def test_part_4_is_declared_where_the_wfs_takes_transactions_only(client: TestClient) -> None:
    assert PART4 in client.get("/hh/conformance").json()["conformsTo"]
    paths = client.get("/hh/api").json()["paths"]
    assert {"put", "patch", "delete"} <= set(paths["/collections/baeume/items/{featureId}"])
    # MapServer itself offers no Transaction: the same config stays read-only there
    assert PART4 not in client.get("/ms/conformance").json()["conformsTo"]
    refused = create(client, tree(), url="/ms/collections/baeume/items")
    assert refused.status_code == 405


def test_a_given_id_is_offered_but_the_location_names_the_key_the_server_made(
    client: TestClient, wfst_trees: WfstTrees
) -> None:
    """The test server makes every key itself (as MapServer's gml_featureid column is its
    own): an id given, even one that exists, makes a new feature whose real id is returned."""
    before, first = set(wfst_trees.rows()), wfst_trees.rows("fid = 1")
    answer = create(client, {**tree(), "id": 1})
    assert answer.status_code == 201, answer.text
    (made,) = set(wfst_trees.rows()) - before
    assert answer.headers["location"].endswith(f"/baeume/items/{made}") and made != 1
    assert client.get(answer.headers["location"]).json()["id"] == made
    assert wfst_trees.rows("fid = 1") == first  # the tree with id 1 untouched


def test_config_check_names_a_writable_source_whose_wfs_offers_no_transaction(
    wfst_trees: WfstTrees,
) -> None:
    async def problems(url: str) -> list[str]:
        options = {k: v for k, v in source(url).items() if k != "connector"}
        config = WFSConnector.Config.model_validate(options)
        connector = WFSConnector(config, base_dir=Path("."), name="hh/baeume")
        await connector.open()
        try:
            return await connector.problems()
        finally:
            await connector.close()

    assert asyncio.run(problems(wfst_trees.url)) == []
    (problem,) = asyncio.run(problems(wfst_trees.mapserver.wfs_url("wfst")))
    assert "no Transaction operation" in problem and "writable" in problem
