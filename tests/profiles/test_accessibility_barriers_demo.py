"""The embedded demo serves both cities' barrier reports as one federated collection
`/collections/accessibility-barriers`: Hamburg's FairCare-style reports and München's
Open311 service requests come out as the same profile, and filters on the profile's codes
select the same reports in both, whatever the city's API calls them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

import profiles
from gateway.demo.restapis import barriers, open311

ROOT = "/collections/accessibility-barriers"
GEOJSON = {"Accept": "application/geo+json"}


def _items(client: TestClient, path: str, **params: str) -> list[dict[str, Any]]:
    got = client.get(f"{path}/items", params={"limit": "1000", **params}, headers=GEOJSON)
    assert got.status_code == 200, got.text
    return got.json()["features"]


@pytest.fixture(scope="module")
def every_report(demo_client: TestClient) -> list[dict[str, Any]]:
    return _items(demo_client, ROOT)


def test_federated_collection_unites_both_cities(every_report) -> None:
    tenants = [f["properties"]["tenant"] for f in every_report]
    assert {t: tenants.count(t) for t in set(tenants)} == {
        "hamburg": barriers.COUNT,
        "muenchen": open311.COUNT,
    }
    profile = profiles.get("accessibility-barriers")
    for feature in every_report:
        assert profile.validate(feature) == [], feature


def test_both_cities_use_the_profiles_codes(every_report) -> None:
    for city in ("hamburg", "muenchen"):
        props = [f["properties"] for f in every_report if f["properties"]["tenant"] == city]
        assert {p["status"] for p in props} == {"open", "in_progress", "resolved", "rejected"}
        assert {p["wheelchair"] for p in props} == {"yes", "limited", "no"}
        assert len({p["category"] for p in props}) >= 8


def test_reports_arrive_in_crs84_in_their_city(every_report) -> None:
    for f in every_report:
        lon, lat = f["geometry"]["coordinates"]
        if f["properties"]["tenant"] == "hamburg":
            assert 9.7 < lon < 10.4 and 53.3 < lat < 53.8
        else:
            assert 11.3 < lon < 11.8 and 48.0 < lat < 48.3


@pytest.mark.parametrize(
    ("cql", "keep"),
    [
        ("status = 'in_progress'", lambda p: p["status"] == "in_progress"),
        ("category IN ('obstacle', 'steps')", lambda p: p["category"] in ("obstacle", "steps")),
        (
            "wheelchair = 'no' AND status <> 'resolved'",
            lambda p: p["wheelchair"] == "no" and p["status"] != "resolved",
        ),
    ],
)
def test_filters_on_profile_codes_select_the_same_reports_in_both_cities(
    demo_client: TestClient, every_report, cql: str, keep
) -> None:
    got = _items(demo_client, ROOT, filter=cql, **{"filter-lang": "cql2-text"})
    want = {f["id"] for f in every_report if keep(f["properties"])}
    assert {f["properties"]["tenant"] for f in got} == {"hamburg", "muenchen"}
    assert {f["id"] for f in got} == want
