"""Cursor paging through the gateway over PostGIS: next links carry a signed keyset
position instead of an offset, walk every feature once in the requested order (with a
residual filter too), and a cursor that does not belong to the query is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from starlette.testclient import TestClient

import profiles
from connectors.base import SourceQuery
from connectors.postgis import PostGISConnector
from gateway.app import create_app
from gateway.catalog import CollectionSource
from gateway.config import parse_config
from gateway.features.cursor import Cursors, derived_key
from gateway.query.model import Query
from tests.postgis_fixtures import TREE_COUNT, PostGIS, postgis_fixture  # noqa: F401

pytestmark = [pytest.mark.integration]
ITEMS = "/hamburg/collections/trees/items"


def gateway(db: PostGIS, **mapped: Any) -> TestClient:
    names = [n for n in profiles.get("street-trees").properties() if n != "tenant"]
    mapping: dict[str, Any] = {n: n for n in names} | mapped
    source = {"connector": "postgis", **db.options("trees", count="exact")}
    collection = {
        "profile": "street-trees",
        "source": source,
        "mapping": {"id": "fid", "properties": mapping},
    }
    config = {"tenants": {"hamburg": {"collections": {"trees": collection}}}}
    return TestClient(create_app(parse_config(config, "test.yaml", Path("."))))


def spy_on(monkeypatch: pytest.MonkeyPatch, cls: type, method: str) -> list[Any]:
    """The first argument of every call of `cls.method`, in order."""
    asked: list[Any] = []
    original = getattr(cls, method)

    async def spy(self: Any, arg: Any) -> Any:
        asked.append(arg)
        return await original(self, arg)

    monkeypatch.setattr(cls, method, spy)
    return asked


def next_link(doc: dict[str, Any]) -> str | None:
    return next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)


def walk(client: TestClient, url: str) -> tuple[list[Any], list[str]]:
    """Every id, following next links; and the links followed."""
    seen, followed = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        doc = response.json()
        seen += [f["id"] for f in doc["features"]]
        url = next_link(doc)
        if url:
            followed.append(url)
    return seen, followed


def by_offset(client: TestClient, query: str, limit: int) -> list[Any]:
    seen: list[Any] = []
    while True:
        doc = client.get(f"{ITEMS}?{query}&limit={limit}&offset={len(seen)}").json()
        seen += [f["id"] for f in doc["features"]]
        if doc["numberReturned"] < limit:
            return seen


@pytest.mark.parametrize(
    "query",
    [
        "",  # source order: by id
        "sortby=-planting_year,height_m",  # nullable keys, mixed directions
        "sortby=district,-genus&bbox=9.9,53.5,10.1,53.6",  # text keys, a bbox
        "filter=planting_year>1990&sortby=-species_scientific",
    ],
)
def test_next_links_walk_every_feature_once_in_order(postgis, query: str) -> None:
    with gateway(postgis) as client:
        seen, followed = walk(client, f"{ITEMS}?{query}&limit=97")
        assert followed and all("cursor" in parse_qs(urlsplit(u).query) for u in followed)
        assert not any("offset" in parse_qs(urlsplit(u).query) for u in followed)
        assert len(seen) == len(set(seen))
        assert seen == by_offset(client, query, 250)


def test_a_residual_filter_pages_by_cursor_too(postgis) -> None:
    # A template is evaluated by the gateway: the filter on it cannot go to PostgreSQL.
    with gateway(postgis, street={"template": "{street}"}) as client:
        query = "filter=street LIKE 'A%25'&sortby=-height_m"
        seen, followed = walk(client, f"{ITEMS}?{query}&limit=15")
        assert len(followed) >= 2 and all("cursor" in u for u in followed)
        assert seen == by_offset(client, query, 1000)
        everything = client.get(f"{ITEMS}?limit=5000&sortby=-height_m").json()["features"]
        expected = [f["id"] for f in everything if (f["properties"]["street"] or "")[:1] == "A"]
        assert seen == expected


def test_a_deep_page_starts_at_its_position_not_at_an_offset(postgis, monkeypatch) -> None:
    asked: list[SourceQuery] = spy_on(monkeypatch, PostGISConnector, "query")
    with gateway(postgis) as client:
        first = client.get(f"{ITEMS}?limit=500&sortby=-height_m").json()
        second = client.get(next_link(first)).json()
        third = client.get(next_link(second)).json()
    assert asked[-1].offset == 0 and asked[-1].after is not None
    assert third["numberMatched"] == TREE_COUNT  # the count ignores the position
    prev = next(link["href"] for link in third["links"] if link["rel"] == "prev")
    assert parse_qs(urlsplit(prev).query)["offset"] == ["500"]


def test_a_cursor_only_works_with_its_own_query(postgis) -> None:
    with gateway(postgis) as client:
        doc = client.get(f"{ITEMS}?limit=10&sortby=district").json()
        cursor = parse_qs(urlsplit(next_link(doc)).query)["cursor"][0]
        assert client.get(f"{ITEMS}?limit=50&sortby=district&cursor={cursor}").status_code == 200
        for query in (
            f"sortby=-district&cursor={cursor}",  # another order
            f"sortby=district&filter=planting_year>2000&cursor={cursor}",  # another filter
            f"sortby=district&cursor={cursor[:-2]}AA",  # tampered signature
            f"sortby=district&cursor=A{cursor[1:]}",  # tampered position
            "sortby=district&cursor=not-a-cursor",
            f"sortby=district&cursor={cursor}&offset=10",
        ):
            response = client.get(f"{ITEMS}?{query}")
            assert response.status_code == 400, query
            assert response.json()["code"] == "InvalidParameterValue"
            assert "cursor" in response.json()["description"]


# --- federated: a PostGIS member and a file member --------------------------------------------

FED = "/collections/street-trees/items"


def federation(db: PostGIS, tmp_path: Path, **counting: Any) -> TestClient:
    names = [n for n in profiles.get("street-trees").properties() if n != "tenant"]
    features = [
        {
            "type": "Feature",
            "id": i,
            "geometry": {"type": "Point", "coordinates": [9.95 + i / 10000, 53.55]},
            "properties": {
                "species_scientific": "Tilia cordata",
                "genus": "Tilia",
                "district": "Altona",
                "planting_year": None if i % 9 == 0 else 1950 + (i * 37) % 70,
                "height_m": round(3 + (i * 13) % 250 / 10, 1),
            },
        }
        for i in range(1, 301)
    ]
    (tmp_path / "file.geojson").write_text(
        orjson.dumps({"type": "FeatureCollection", "features": features}).decode()
    )
    database = {"connector": "postgis", **db.options("trees", **({"count": "exact"} | counting))}
    file = {"connector": "geojson", "path": "file.geojson"}
    tenants = {
        tenant: {
            "collections": {
                "trees": {
                    "profile": "street-trees",
                    "source": source,
                    "mapping": {"id": "fid", "properties": {n: n for n in names}}
                    if tenant == "db"
                    else {"properties": {n: n for n in names if n in features[0]["properties"]}},
                }
            }
        }
        for tenant, source in (("db", database), ("file", file))
    }
    config = parse_config({"tenants": tenants}, "test.yaml", tmp_path)
    return TestClient(create_app(config))


@pytest.mark.parametrize("query", ["", "sortby=-planting_year,height_m", "sortby=height_m"])
def test_federated_next_links_walk_both_members_once(postgis, tmp_path, query: str) -> None:
    with federation(postgis, tmp_path) as client:
        seen, followed = walk(client, f"{FED}?{query}&limit=150")
        assert len(seen) == TREE_COUNT + 300 == len(set(seen))
        assert all("cursor" in u for u in followed[:5])
        by_offset: list[Any] = []
        while len(by_offset) < len(seen):
            url = f"{FED}?{query}&limit=1000&offset={len(by_offset)}"
            by_offset += [f["id"] for f in client.get(url).json()["features"]]
        assert seen == by_offset


def test_a_deep_federated_sorted_page_asks_each_member_for_one_page(
    postgis, tmp_path, monkeypatch
) -> None:
    asked: list[Query] = spy_on(monkeypatch, CollectionSource, "items")
    with federation(postgis, tmp_path) as client:
        url = f"{FED}?sortby=-height_m&limit=100"
        for _ in range(15):
            url = next_link(client.get(url).json())
        asked.clear()
        doc = client.get(url).json()
    assert doc["numberReturned"] == 100 and doc["numberMatched"] == TREE_COUNT + 300
    assert len(asked) == 2 and all(q.limit == 100 for q in asked)
    assert any(q.resume is not None for q in asked)  # the PostGIS member resumes by keyset


def test_a_member_too_big_to_count_is_paged_without_counting_it(postgis, tmp_path, monkeypatch):
    asked: list[SourceQuery] = spy_on(monkeypatch, PostGISConnector, "query")
    with federation(postgis, tmp_path, count="estimate", count_limit=100) as client:
        first = client.get(f"{FED}?limit=500").json()
        assert "numberMatched" not in first  # the database member is too big to count cheaply
        seen, _ = walk(client, f"{FED}?limit=500")
        assert len(seen) == len(set(seen)) == TREE_COUNT + 300
        assert not any(q.limit == 0 for q in asked)  # never a full count(*)
        # A plain offset past the database member has to count it, exactly, once.
        asked.clear()
        doc = client.get(f"{FED}?limit=10&offset={TREE_COUNT + 5}").json()
        assert [f["id"] for f in doc["features"]] == [f"file.trees.{i}" for i in range(6, 16)]
        assert [q.limit for q in asked].count(0) == 1


def test_a_signed_cursor_the_collection_no_longer_fits_is_400_not_502(postgis) -> None:
    # E.g. issued before the configuration changed how the collection sorts: signed by
    # this server, but its position has the wrong shape for today's plan.
    names = [n for n in profiles.get("street-trees").properties() if n != "tenant"]
    collection = {
        "profile": "street-trees",
        "source": {"connector": "postgis", **postgis.options("trees")},
        "mapping": {"id": "fid", "properties": {n: n for n in names}},
    }
    loaded = parse_config(
        {"tenants": {"hamburg": {"collections": {"trees": collection}}}}, "t.yaml", Path(".")
    )
    cursors = Cursors(derived_key(loaded.config.model_dump_json()))
    stale = cursors.issue("/hamburg/collections/trees", Query(limit=10), 10, {"after": [1, 2, 3]})
    with TestClient(create_app(loaded)) as client:
        response = client.get(f"{ITEMS}?cursor={stale}")
    assert response.status_code == 400, response.text
    assert "cursor" in response.json()["description"]
