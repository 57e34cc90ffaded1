"""`/catalog` on the demo: every profile × every city, figures for every dataset."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

import profiles

SYNCED = {
    "rotterdam": ("air-quality", "water-quality", "traffic-flow", "water-level"),
    "aarhus": ("air-quality", "water-quality", "energy", "noise", "parking-occupancy"),
    "hamburg": ("water-level",),
    "muenchen": ("noise", "parking-occupancy"),
}


def wait_for_the_sync(client: TestClient, timeout: float = 90.0) -> None:
    """The NGSI tenants fill their profiles' Datastreams in the background after start-up."""
    deadline = time.monotonic() + timeout
    for tenant, names in SYNCED.items():
        for name in names:
            url = (
                f"/{tenant}/sta/v1.1/Observations?$top=1"
                f"&$filter=Datastream/properties/profile eq '{name}'"
            )
            while not client.get(url).json().get("value"):
                assert time.monotonic() < deadline, f"{tenant} has no {name} observations yet"
                time.sleep(0.5)


def test_the_demo_catalog_shows_every_profile_and_city_with_figures(demo_client: TestClient):
    wait_for_the_sync(demo_client)
    demo_client.portal.call(demo_client.app.state.data_catalog.refresher.refresh)  # type: ignore[union-attr]
    doc = demo_client.get("/catalog").json()
    assert {p["id"] for p in doc["profiles"]} == set(profiles.available())
    assert {"hamburg", "leipzig", "muenchen", "rotterdam", "aarhus"} <= {
        t["id"] for t in doc["tenants"]
    }
    found = {d["id"]: d for d in doc["datasets"]}
    assert {"hamburg/strassenbaeume", "leipzig/baumkataster", "muenchen/baeume"} <= set(found)
    # The synced SensorThings tenants fill the SensorThings profiles.
    sta = {"rotterdam/sta/air-quality", "aarhus/sta/air-quality", "aarhus/sta/water-quality"}
    assert sta | {"rotterdam/sta/water-quality"} <= set(found)
    # energy: Aarhus' meters synchronised from NGSI-LD, Leipzig's imported from a digest
    assert {"aarhus/sta/energy", "leipzig/sta/energy"} <= set(found)
    # traffic-flow: Rotterdam's lanes synchronised from NGSI-v2, Leipzig's loops from a digest
    assert {"rotterdam/sta/traffic-flow", "leipzig/sta/traffic-flow"} <= set(found)
    assert {"hamburg/sta/water-level", "rotterdam/sta/water-level"} <= set(found)
    assert {"aarhus/sta/noise", "muenchen/sta/noise"} <= set(found)
    assert {"aarhus/sta/parking-occupancy", "muenchen/sta/parking-occupancy"} <= set(found)
    for d in found.values():
        assert d["status"] == "ok", d
        assert d["count"] > 0 and d["quality"]["valid"]["share"] == 1.0, d["id"]
        assert d["conformance"]["status"] == "passed", d["conformance"]
    for key in sta:
        q = found[key]["quality"]
        assert found[key]["datastreams"] == q["items"] > 0
        assert set(q["completeness"].values()) == {1.0}, q["completeness"]
        assert set(q["outside_code_list"].values()) == {0}
        assert q["observations"]["checked"] > 0 and q["observations"]["implausible"] == 0
        assert q["geometry"]["missing"] == 0 and q["ids"]["duplicates"] == 0
        assert found[key]["conformance"]["suite"] == "sensorthings-profile"
    metrics = demo_client.get("/metrics").text
    assert "twinbridge_catalog_valid_ratio" in metrics
    assert 'twinbridge_catalog_datastreams{dataset="rotterdam/sta/air-quality"' in metrics
    assert 'dataset="aarhus/sta/water-quality",profile="water-quality",property="Thing/' in metrics
    page = demo_client.get("/catalog?f=html")
    assert page.status_code == 200 and "Straßenbäume Hamburg" in page.text
    assert page.text.count("<dt>Stale Datastreams</dt>") >= len(sta) + 1  # one per STA cell
    assert "<dt>Implausible recent results</dt><dd>0 of " in page.text


def test_the_demo_catalog_as_dcat_ap_names_the_municipalities(demo_client: TestClient):
    doc = demo_client.get("/catalog?f=jsonld").json()
    found = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    hamburg = found["hamburg/strassenbaeume"]
    assert hamburg["dcatde:politicalGeocodingURI"]["@id"].endswith("/municipalityKey/02000000")
    assert found["leipzig/baumkataster"]["dcatde:politicalGeocodingURI"]["@id"].endswith(
        "/14713000"
    )
