"""A state-level TwinBridge federating two city TwinBridges through `oapif`, three real
`twinbridge serve` processes on loopback: every answer of the state equals the cities'
own (items, paging to the end, filters, sorting, item by id, the federated root), apart
from links, which name the state. Ids are the cities': a tenant's collection keeps them as
they are, the federated root namespaces them `tenant.collection.id` on both levels alike,
and a city's namespaced ids resolve through the state.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.ogcapi_fixtures import Federation, federation, upstreams  # noqa: F401 - fixtures
from tests.postgis_fixtures import TREE_COUNT, postgis_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
FILTERS = [
    "genus = 'Tilia' AND height_m > 12",
    "species_german LIKE 'Spitz%' OR street IS NULL",
    "district IN ('Altona', 'Wandsbek') AND NOT (planting_year BETWEEN 1980 AND 2000)",
    "S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.6))",
    "T_DURING(last_update, INTERVAL('2021-01-01', '2021-12-31'))",
    "CASEI(genus) = CASEI('acer')",
]


def get(url: str, **params: Any) -> dict[str, Any]:
    answer = httpx.get(url, params=params or None, timeout=30)  # {} would drop the query
    assert answer.status_code == 200, (url, params, answer.text)
    return answer.json()


def content(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The features without their links (which name the server that answered)."""
    return [(f["id"], f["properties"], f["geometry"]) for f in doc["features"]]


def walk(url: str, **params: Any) -> list[dict[str, Any]]:
    """Every feature, following next links to the end."""
    features: list[dict[str, Any]] = []
    next_url: str | None = url
    query: dict[str, Any] | None = params
    while next_url:
        doc = get(next_url, **(query or {}))
        features.extend(doc["features"])
        next_url = next((x["href"] for x in doc["links"] if x["rel"] == "next"), None)
        query = None
        assert len(features) <= TREE_COUNT
    return features


@pytest.mark.parametrize("tenant", ["nord", "sued"])
def test_a_tenant_collection_is_the_citys_own(federation: Federation, tenant: str):  # noqa: F811
    path = f"/{tenant}/collections/baeume/items"
    city = get(federation.cities[tenant] + path, limit=10000)
    state = get(federation.state + path, limit=10000)
    assert len(city["features"]) == TREE_COUNT // 2
    assert content(state) == content(city)
    assert state["numberMatched"] == city["numberMatched"]
    assert all(x["href"].startswith(federation.state) for x in state["links"])


def test_paging_to_the_end_through_the_state(federation: Federation):  # noqa: F811
    path = "/nord/collections/baeume/items"
    expected = get(federation.cities["nord"] + path, limit=10000)["features"]
    got = walk(federation.state + path, limit=37)
    assert [f["id"] for f in got] == [f["id"] for f in expected]


@pytest.mark.parametrize("text", FILTERS)
def test_filters_and_sorting_answer_as_the_city(federation: Federation, text: str):  # noqa: F811
    path = "/sued/collections/baeume/items"
    params = {"filter": text, "sortby": "-height_m,species_scientific", "limit": 10000}
    city = get(federation.cities["sued"] + path, **params)
    state = get(federation.state + path, **params)
    assert content(state) == content(city)
    # pushed whole: the city counted, and the state passes the exact number on
    assert state.get("numberMatched") == city.get("numberMatched") == len(city["features"])


def test_item_by_id_through_the_state(federation: Federation):  # noqa: F811
    path = "/nord/collections/baeume/items/17"
    city, state = get(federation.cities["nord"] + path), get(federation.state + path)
    assert (state["id"], state["properties"], state["geometry"]) == (
        city["id"],
        city["properties"],
        city["geometry"],
    )
    missing = httpx.get(federation.state + "/nord/collections/baeume/items/999999", timeout=10)
    assert missing.status_code == 404


def test_the_federated_root_is_the_union_of_the_cities(federation: Federation):  # noqa: F811
    path = "/collections/street-trees/items"
    cities = [get(url + path, limit=10000) for url in federation.cities.values()]
    state = walk(federation.state + path, limit=250)
    expected = sorted(f["id"] for doc in cities for f in doc["features"])
    assert sorted(f["id"] for f in state) == expected
    # namespaced alike on both levels: tenant.collection.id
    assert {f["id"].split(".", 2)[0] for f in state} == {"nord", "sued"}
    by_id = {f["id"]: f for doc in cities for f in doc["features"]}
    assert all(f["properties"] == by_id[f["id"]]["properties"] for f in state)
    one = get(federation.state + path + "/sued.baeume.1500")
    assert one["id"] == "sued.baeume.1500" and one["properties"]["tenant"] == "sued"


def test_a_citys_namespaced_ids_resolve_through_the_state(federation: Federation):  # noqa: F811
    path = "/land/collections/nord-alle/items"
    page = get(federation.state + path, limit=5)
    first = page["features"][0]
    assert first["id"].startswith("nord.baeume.")
    city = get(federation.cities["nord"] + "/collections/street-trees/items/" + first["id"])
    state = get(federation.state + f"{path}/{first['id']}")
    assert state["id"] == city["id"] == first["id"]
    assert state["properties"] == city["properties"]
