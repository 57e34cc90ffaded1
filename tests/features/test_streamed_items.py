"""Large pages are streamed (limit above STREAM_ABOVE) and say exactly what the list path says:
the same features (ids, geometry, properties), numberReturned, numberMatched and links, and
their next links continue where the page ended. Over files (the demo), over PostGIS, and
over federations of both, unsorted (members in turn) and sorted (a k-way merge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

import profiles
from gateway.app import create_app
from gateway.config import parse_config
from gateway.errors import UpstreamFailed
from gateway.features import routes
from gateway.features.items import HTML_LIMIT, STREAM_ABOVE
from tests.postgis_fixtures import TREE_COUNT, PostGIS, postgis_fixture  # noqa: F401
from tests.test_federation import config, write_trees

EPSG25832 = quote("http://www.opengis.net/def/crs/EPSG/0/25832", safe="")
EPSG4326 = quote("http://www.opengis.net/def/crs/EPSG/0/4326", safe="")
PRESENTATIONS = [
    "",
    f"&crs={EPSG25832}",
    f"&crs={EPSG4326}&properties=genus,height_m",
    "&skipGeometry=true&properties=species_scientific",
]


def fetch(client: TestClient, url: str, streamed: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(routes, "STREAM_ABOVE", STREAM_ABOVE if streamed else 10**9)
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert ("content-length" not in response.headers) is streamed  # which path answered
    return response


def same_answer(a: httpx.Response, b: httpx.Response) -> dict[str, Any]:
    doc, other = a.json(), b.json()
    for key in ("type", "features", "numberMatched", "numberReturned", "twinbridge:failedSources"):
        assert doc.get(key) == other.get(key), key
    assert doc["links"] == other["links"]
    assert a.headers["content-crs"] == b.headers["content-crs"]
    return doc


def walk_both(
    client: TestClient, url: str, monkeypatch: pytest.MonkeyPatch, pages: int = 4
) -> list[Any]:
    """Follow next links (both paths give the same ones), comparing every page; the ids."""
    ids: list[Any] = []
    for _ in range(pages):
        doc = same_answer(
            fetch(client, url, True, monkeypatch), fetch(client, url, False, monkeypatch)
        )
        ids += [f["id"] for f in doc["features"]]
        after = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), None)
        if after is None:
            break
        url = after.split("testserver", 1)[1]
    return ids


# --- files: the demo ------------------------------------------------------------------------


@pytest.mark.parametrize("presentation", PRESENTATIONS)
@pytest.mark.parametrize(
    "url",
    [
        "/hamburg/collections/strassenbaeume/items?limit=1200",
        "/collections/street-trees/items?limit=2500",  # members in turn
        "/collections/street-trees/items?limit=2500&offset=2000",
        "/collections/street-trees/items?limit=2500&sortby=-height_m,species_scientific",
    ],
)
def test_a_streamed_file_page_is_the_list_page(demo_client, monkeypatch, url, presentation):
    ids = walk_both(demo_client, url + presentation, monkeypatch)
    assert len(ids) == len(set(ids)) > 2000


def test_a_sorted_federated_page_at_an_offset_streams_the_same(demo_client, monkeypatch):
    url = "/collections/street-trees/items?limit=1500&offset=1700&sortby=planting_year"
    assert len(walk_both(demo_client, url, monkeypatch, pages=2)) == 3000


def test_html_pages_keep_a_list_and_are_capped(demo_client):
    page = demo_client.get("/hamburg/collections/strassenbaeume/items?limit=5000&f=html")
    assert page.status_code == 200 and "content-length" in page.headers
    assert page.text.count('<th scope="row">') == HTML_LIMIT
    assert f"at most {HTML_LIMIT} features" in page.text


def test_head_of_a_large_page_reads_nothing(demo_client):
    response = demo_client.head("/collections/street-trees/items?limit=5000")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == "application/geo+json"


# --- PostGIS, and a federation of PostGIS and a file -------------------------------------------

NAMES = [n for n in profiles.get("street-trees").properties() if n != "tenant"]


def gateway(db: PostGIS, tmp_path: Path, **source: Any) -> TestClient:
    features = [
        {
            "type": "Feature",
            "id": i,
            "geometry": {"type": "Point", "coordinates": [9.95 + i / 10000, 53.55]},
            "properties": {"genus": "Tilia", "height_m": round(3 + (i * 13) % 250 / 10, 1)},
        }
        for i in range(1, 1501)
    ]
    (tmp_path / "file.geojson").write_bytes(
        orjson.dumps({"type": "FeatureCollection", "features": features})
    )
    database = {"connector": "postgis", **db.options("trees", **source)}
    mapped = {"id": "fid", "properties": {n: n for n in NAMES}}
    collections = {
        "db": {"profile": "street-trees", "source": database, "mapping": mapped},
        "file": {
            "profile": "street-trees",
            "source": {"connector": "geojson", "path": "file.geojson"},
            "mapping": {"properties": {"genus": "genus", "height_m": "height_m"}},
        },
    }
    tenants = {name: {"collections": {"trees": c}} for name, c in collections.items()}
    data = {"server": {"max_limit": 100_000}, "tenants": tenants}
    return TestClient(create_app(parse_config(data, "test.yaml", tmp_path)))


@pytest.mark.integration
@pytest.mark.parametrize("presentation", PRESENTATIONS)
@pytest.mark.parametrize(
    "query",
    [
        "limit=1500",  # next by keyset cursor
        "limit=1200&sortby=-height_m,species_scientific",
        "limit=1100&offset=300&bbox=9.8,53.45,10.2,53.7",
        "limit=1300&filter=district%3C%3E'Altona'",
    ],
)
def test_a_streamed_postgis_page_is_the_list_page(
    postgis, tmp_path, monkeypatch, query, presentation
):
    with gateway(postgis, tmp_path) as client:
        ids = walk_both(client, f"/db/collections/trees/items?{query}{presentation}", monkeypatch)
        assert len(ids) == len(set(ids)) > 1000


@pytest.mark.integration
def test_streamed_pages_walk_a_postgis_table_once_by_cursor(postgis, tmp_path, monkeypatch):
    with gateway(postgis, tmp_path, count="none") as client:
        ids = walk_both(client, "/db/collections/trees/items?limit=1001", monkeypatch)
        assert ids == list(range(1, TREE_COUNT + 1))


@pytest.mark.integration
@pytest.mark.parametrize(
    "query",
    ["limit=1400", "limit=1200&sortby=-height_m", "limit=1300&sortby=height_m&offset=900"],
)
def test_a_streamed_federated_page_is_the_list_page(postgis, tmp_path, monkeypatch, query):
    with gateway(postgis, tmp_path) as client:
        ids = walk_both(client, f"/collections/street-trees/items?{query}", monkeypatch, pages=2)
        assert len(ids) == len(set(ids)) > 2000


@pytest.mark.integration
def test_a_streamed_federated_walk_sees_every_feature_once(postgis, tmp_path, monkeypatch):
    with gateway(postgis, tmp_path) as client:
        for sort in ("", "&sortby=-planting_year,height_m"):
            url = f"/collections/street-trees/items?limit=1100{sort}"
            ids = walk_both(client, url, monkeypatch, pages=10)
            assert len(ids) == len(set(ids)) == TREE_COUNT + 1500


# --- federations that lose a member -------------------------------------------------------------


def two_files(tmp_path: Path, partial: str, b: str = "b.geojson") -> TestClient:
    write_trees(tmp_path / "a.geojson", 1500)
    write_trees(tmp_path / "b.geojson", 1500, start=5000)
    return TestClient(create_app(config(tmp_path, {"a": "a.geojson", "b": b}, partial=partial)))


@pytest.mark.parametrize("sort", ["", "&sortby=-height_m"])
def test_a_member_failing_before_the_first_byte_is_named_in_header_and_body(tmp_path, sort):
    with two_files(tmp_path, "flag", b="missing.geojson") as client:
        response = client.get(f"/collections/street-trees/items?limit=2000{sort}")
        assert response.status_code == 200 and "content-length" not in response.headers
        doc = response.json()
        assert len(doc["features"]) == doc["numberReturned"] == 1500
        assert "numberMatched" not in doc
        assert [f["source"] for f in doc["twinbridge:failedSources"]] == ["b/trees"]
        assert "b/trees" in response.headers["warning"]


def failing_stream(client: TestClient, tenant: str) -> None:
    source = client.app.state.catalog.tenants[tenant].collections["trees"]  # type: ignore[attr-defined]

    async def down(query: Any) -> Any:
        raise UpstreamFailed(source.name, "the source failed to answer")

    source.stream = down


def test_a_member_failing_when_its_turn_comes_is_named_in_the_body(tmp_path):
    with two_files(tmp_path, "flag") as client:
        failing_stream(client, "b")
        response = client.get("/collections/street-trees/items?limit=2000")
        assert response.status_code == 200
        doc = response.json()  # well-formed: what is missing is said
        assert len(doc["features"]) == 1500 and "numberMatched" not in doc
        assert [f["source"] for f in doc["twinbridge:failedSources"]] == ["b/trees"]
        assert not any(link["rel"] == "next" for link in doc["links"])


def test_with_partial_fail_a_member_failing_mid_answer_aborts_it(tmp_path):
    with two_files(tmp_path, "fail") as client:
        failing_stream(client, "b")
        identity = {"Accept-Encoding": "identity"}  # the bytes as cut, not a decoder's error
        response = client.get("/collections/street-trees/items?limit=2000", headers=identity)
        assert response.status_code == 200  # sent before b's turn came
        assert response.content.startswith(b'{"type":"FeatureCollection","features":[')
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(response.content)  # cut off: never a well-formed short answer
