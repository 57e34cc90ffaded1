"""`/catalog`: the matrix profiles × tenants with figures from the background cache, as
JSON, HTML and DCAT-AP JSON-LD; and the Prometheus gauges."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import ConfigError, parse_config
from tests.quality.fake_server import broken_trees, good_trees

MAPPING = {
    "id": "ref",  # the file's own ids are unique (the connector insists); these need not be
    "properties": {
        name: name
        for name in (
            "species_scientific",
            "species_german",
            "genus",
            "planting_year",
            "height_m",
            "crown_diameter_m",
            "trunk_circumference_cm",
            "district",
            "street",
            "last_update",
        )
    },
}
GEOCODING = "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/14713000"


def write(path: Path, features: list[dict[str, Any]]) -> Path:
    stored = [
        {**f, "id": f"f{i}", "properties": {**f["properties"], "ref": f["id"]}}
        for i, f in enumerate(features)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": stored}))
    return path


def trees(path: Path, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "profile": "street-trees",
        "source": {"connector": "geojson", "path": str(path)},
        "mapping": MAPPING,
    }


def config(tmp_path: Path, **catalog: Any) -> dict[str, Any]:
    clean = write(tmp_path / "clean.geojson", good_trees(40))
    broken = write(tmp_path / "broken.geojson", broken_trees(40))
    return {
        "server": {"title": "Test", "catalog": {"first_delay_seconds": 3600, **catalog}},
        "tenants": {
            "clean": {
                "title": "Clean City",
                "collections": {"trees": trees(clean, "Clean trees")},
                "catalog": {"political_geocoding_uri": GEOCODING},
            },
            "broken": {
                "title": "Broken <b>City</b>",
                "collections": {"trees": trees(broken, "Broken trees")},
            },
            "empty": {"title": "No data"},
        },
    }


def client_for(data: dict[str, Any], tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(parse_config(data, "test.yaml", tmp_path))) as client:
        yield client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from client_for(config(tmp_path), tmp_path)


def refresh(client: TestClient) -> None:
    """One round of the background computation, run on the app's loop."""
    client.portal.call(client.app.state.data_catalog.refresher.refresh)  # type: ignore[union-attr]


def datasets(client: TestClient) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in client.get("/catalog").json()["datasets"]}


def test_before_the_background_task_ran_every_dataset_is_pending(client: TestClient):
    response = client.get("/catalog")
    assert response.status_code == 200
    doc = response.json()
    assert {d["id"]: d["status"] for d in doc["datasets"]} == {
        "clean/trees": "pending",
        "broken/trees": "pending",
    }
    assert doc["lastRefresh"] is None
    # asking did not compute anything
    assert client.app.state.data_catalog.refresher.rounds == 0  # type: ignore[attr-defined]


def test_the_matrix_has_every_profile_and_tenant_and_links(client: TestClient):
    doc = client.get("/catalog").json()
    assert [t["id"] for t in doc["tenants"]] == ["clean", "broken", "empty"]
    assert {"street-trees", "land-use-plans"} <= {p["id"] for p in doc["profiles"]}
    cell = datasets(client)["clean/trees"]
    hrefs = {link["rel"]: link["href"] for link in cell["links"]}
    assert hrefs["collection"] == "http://testserver/clean/collections/trees"
    assert hrefs["items"] == "http://testserver/clean/collections/trees/items"
    assert hrefs["related"] == "http://testserver/collections/street-trees"
    assert client.get(hrefs["collection"]).status_code == 200
    assert client.get(hrefs["describedby"]).json()["version"] == cell["profileVersion"]


def test_after_a_refresh_the_figures_tell_clean_from_broken(client: TestClient):
    refresh(client)
    found = datasets(client)
    clean, broken = found["clean/trees"], found["broken/trees"]
    assert clean["status"] == broken["status"] == "ok"
    assert clean["count"] == broken["count"] == 40
    assert clean["sampled"] is False
    assert clean["lastUpdate"] == "2026-01-01T00:00:00+00:00"
    good, bad = clean["quality"], broken["quality"]
    assert good["valid"]["share"] == 1.0 and bad["valid"]["share"] < 1.0
    assert good["completeness"]["height_m"] == 1.0 and bad["completeness"]["height_m"] == 0.8
    assert bad["outside_code_list"]["genus"] == 8
    # the GeoJSON connector reads an empty point as no geometry
    assert good["geometry"]["missing"] == 0 and bad["geometry"]["missing"] == 8
    assert good["ids"]["duplicates"] == 0 and bad["ids"]["duplicates"] > 0


def test_the_latest_profile_conformance_result_is_in_each_cell(client: TestClient):
    assert datasets(client)["clean/trees"]["conformance"]["status"] == "pending"
    refresh(client)
    found = datasets(client)
    clean, broken = found["clean/trees"]["conformance"], found["broken/trees"]["conformance"]
    assert clean["status"] == "passed", clean
    assert clean["profile"] == {"id": "street-trees", "version": "1.0.0"}
    assert clean["counts"]["pass"] >= 2 and clean["counts"]["fail"] == 0
    assert broken["status"] == "failed"
    checks = {f["check"] for f in broken["failures"]}
    assert {"profile/schema", "profile/code-lists"} <= checks


def test_max_items_samples_and_still_counts_exactly(tmp_path: Path):
    data = config(tmp_path, max_items=15, page_size=10)
    for client in client_for(data, tmp_path):
        refresh(client)
        cell = datasets(client)["clean/trees"]
        assert cell["sampled"] is True
        assert cell["quality"]["items"] == 15
        assert cell["count"] == 40  # a file source counts cheaply


def test_a_failing_source_is_reported_and_the_others_computed(tmp_path: Path):
    data = config(tmp_path)
    for client in client_for(data, tmp_path):
        (tmp_path / "broken.geojson").unlink()
        time.sleep(1.1)  # a file source looks at its file at most once a second
        refresh(client)
        found = datasets(client)
        assert found["clean/trees"]["status"] == "ok"
        failed = found["broken/trees"]
        assert failed["status"] == "failed" and failed["error"]
        assert str(tmp_path) not in failed["error"]  # no file paths to clients


def test_the_html_page_shows_the_matrix_escaped(client: TestClient):
    page = client.get("/catalog?f=html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "pending" in page.text
    assert "Broken &lt;b&gt;City&lt;/b&gt;" in page.text
    refresh(client)
    page = client.get("/catalog", headers={"Accept": "text/html"}).text
    assert "Duplicate ids" in page and "Clean trees" in page
    assert "<script" not in page


def test_dcat_ap_json_ld_for_portals(client: TestClient):
    refresh(client)
    response = client.get("/catalog", headers={"Accept": "application/ld+json"})
    assert response.headers["content-type"].startswith("application/ld+json")
    doc = response.json()
    assert doc["@type"] == "dcat:Catalog"
    assert doc["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert doc["@context"]["dcatde"] == "http://dcat-ap.de/def/dcatde/"
    found = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    assert set(found) == {"clean/trees", "broken/trees"}
    clean, broken = found["clean/trees"], found["broken/trees"]
    assert clean["@type"] == "dcat:Dataset"
    assert clean["dct:conformsTo"]["dct:identifier"] == "street-trees"
    assert clean["dct:conformsTo"]["owl:versionInfo"] == "1.0.0"
    assert clean["dct:publisher"]["foaf:name"] == "Clean City"
    assert clean["dcatde:politicalGeocodingURI"] == {"@id": GEOCODING}
    assert "dcatde:politicalGeocodingURI" not in broken  # not configured: not invented
    assert clean["dct:modified"]["@value"] == "2026-01-01T00:00:00+00:00"
    [geojson, html] = clean["dcat:distribution"]
    assert geojson["@type"] == "dcat:Distribution"
    assert geojson["dcat:accessURL"]["@id"].endswith("/clean/collections/trees/items?f=json")
    assert geojson["dcat:mediaType"]["@id"].endswith("application/geo+json")
    assert client.get("/catalog?f=jsonld").json() == doc


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/catalog?f=bogus", 400),
        ("/catalog?f=json&f=html", 400),
        ("/catalog?limit=3", 400),
        ("/catalog/profiles/no-such", 404),
        ("/catalog/profiles/street-trees?x=1", 400),
        ("/catalog/profiles/street-trees?f=html", 400),
    ],
)
def test_what_a_client_gets_wrong_is_a_4xx(client: TestClient, path: str, status: int):
    response = client.get(path)
    assert response.status_code == status
    assert "code" in response.json()


def gauges(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_figures_are_prometheus_gauges(client: TestClient):
    refresh(client)
    found = gauges(client.get("/metrics").text)
    labels = {"dataset": "broken/trees", "profile": "street-trees", "tenant": "broken"}

    def value(name: str, **more: str) -> float:
        return found[(name, frozenset({**labels, **more}.items()))]

    assert value("twinbridge_catalog_items") == 40
    assert value("twinbridge_catalog_geometry_problems", problem="missing") == 8
    assert value("twinbridge_catalog_completeness_ratio", property="height_m") == 0.8
    assert value("twinbridge_catalog_implausible_values", property="genus", check="code_list") == 8
    assert value("twinbridge_catalog_valid_ratio") < 1
    assert value("twinbridge_catalog_duplicate_ids") > 0
    assert value("twinbridge_catalog_failed") == 0
    assert value("twinbridge_catalog_staleness_seconds") > 0
    assert value("twinbridge_catalog_conformance_passed") == 0
    # that the runs' own requests are not client traffic is the next test's: the metrics
    # are the process's, and other tests in this worker may have served items before


def test_the_background_runs_own_requests_are_not_counted_as_traffic(client: TestClient):
    def served() -> float:
        return sum(
            v
            for (name, labels), v in gauges(client.get("/metrics").text).items()
            if name == "twinbridge_requests_total" and ("route", "/metrics") not in labels
        )

    before = served()
    refresh(client)  # runs the conformance checks: many requests, in process
    assert datasets(client)["clean/trees"]["conformance"]["status"] == "passed"
    assert served() == before + 1  # the /catalog request above, nothing else


def test_the_background_task_fills_the_cache_on_its_own(tmp_path: Path):
    data = config(tmp_path, first_delay_seconds=0, refresh_seconds=5)
    for client in client_for(data, tmp_path):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(d["status"] == "ok" for d in datasets(client).values()):
                break
            time.sleep(0.1)
        assert all(d["status"] == "ok" for d in datasets(client).values())
        assert client.get("/catalog").json()["lastRefresh"] is not None


def test_the_federated_landing_page_links_the_catalog(client: TestClient):
    links = client.get("/").json()["links"]
    assert any(x["href"] == "http://testserver/catalog" for x in links)
    assert not any(x["href"].endswith("/catalog") for x in client.get("/clean/").json()["links"])


def test_disabled_catalog_is_not_served_nor_linked(tmp_path: Path):
    for client in client_for(config(tmp_path, enabled=False), tmp_path):
        assert client.get("/catalog").status_code == 404
        assert not any(x["href"].endswith("/catalog") for x in client.get("/").json()["links"])


def test_catalog_is_a_reserved_tenant_id(tmp_path: Path):
    with pytest.raises(ConfigError, match="reserved"):
        parse_config({"tenants": {"catalog": {}}}, "x.yaml", tmp_path)


def test_conformance_runs_on_its_own_schedule(tmp_path: Path):
    for client in client_for(config(tmp_path), tmp_path):
        refresher = client.app.state.data_catalog.refresher  # type: ignore[attr-defined]
        refresh(client)
        first = datasets(client)["clean/trees"]["conformance"]["ranAt"]
        time.sleep(1.1)  # ranAt has seconds
        refresh(client)
        assert datasets(client)["clean/trees"]["conformance"]["ranAt"] == first  # kept
        refresher.settings.conformance_refresh_seconds = 0
        refresh(client)
        assert datasets(client)["clean/trees"]["conformance"]["ranAt"] != first
