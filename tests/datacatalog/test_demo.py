"""`/catalog` on the demo: every profile × every city, figures for every dataset."""

from __future__ import annotations

from starlette.testclient import TestClient

import profiles


def test_the_demo_catalog_shows_every_profile_and_city_with_figures(demo_client: TestClient):
    demo_client.portal.call(demo_client.app.state.data_catalog.refresher.refresh)  # type: ignore[union-attr]
    doc = demo_client.get("/catalog").json()
    assert {p["id"] for p in doc["profiles"]} == set(profiles.available())
    assert {"hamburg", "leipzig", "muenchen", "rotterdam", "aarhus"} <= {
        t["id"] for t in doc["tenants"]
    }
    found = {d["id"]: d for d in doc["datasets"]}
    assert {"hamburg/strassenbaeume", "leipzig/baumkataster", "muenchen/baeume"} <= set(found)
    for d in found.values():
        assert d["status"] == "ok", d
        if d["kind"] == "features":
            assert d["count"] > 0 and d["quality"]["valid"]["share"] == 1.0, d["id"]
            assert d["conformance"]["status"] == "passed", d["conformance"]
    page = demo_client.get("/catalog?f=html")
    assert page.status_code == 200 and "Straßenbäume Hamburg" in page.text


def test_the_demo_catalog_as_dcat_ap_names_the_municipalities(demo_client: TestClient):
    doc = demo_client.get("/catalog?f=jsonld").json()
    found = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    hamburg = found["hamburg/strassenbaeume"]
    assert hamburg["dcatde:politicalGeocodingURI"]["@id"].endswith("/municipalityKey/02000000")
    assert found["leipzig/baumkataster"]["dcatde:politicalGeocodingURI"]["@id"].endswith(
        "/14713000"
    )
