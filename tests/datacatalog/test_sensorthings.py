"""SensorThings datasets of the catalog: found where a tenant's SensorThings configuration
names a profile, and figured from the Datastreams that declare it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

import profiles
from gateway.app import create_app
from gateway.datacatalog.cells import SENSORTHINGS, Dataset, _profile_names
from gateway.datacatalog.config import CatalogSettings
from gateway.datacatalog.documents import dataset_doc, dataset_links
from gateway.datacatalog.refresher import Refresher
from gateway.datacatalog.sta import SensorThingsFigures
from tests.datacatalog.stations import seed
from tests.datacatalog.test_catalog import gauges
from tests.sensorthings.conftest import KEY, sta_config

PROFILE = profiles.get("air-quality")
TIMES = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]


DATASET = Dataset(PROFILE, "t", SENSORTHINGS, None, "Sensors", "")


@pytest.fixture(scope="module")
def stations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Tenant t with a station that holds to air-quality, a bad one, and an unprofiled one."""
    loaded, env = sta_config(tmp_path_factory.mktemp("stations"))
    with TestClient(create_app(loaded)) as client:
        seed(client, "/t/sta/v1.1", PROFILE, TIMES, {"X-API-Key": KEY})
        yield client


def test_figures_of_the_profiles_datastreams_show_a_bad_one(stations: TestClient):
    settings = CatalogSettings(observation_window=2, stale_seconds=3600)
    compute = SensorThingsFigures(stations.app.state.sensorthings, settings)  # type: ignore[attr-defined]
    figures = stations.portal.call(compute, DATASET)  # type: ignore[union-attr]
    assert figures["status"] == "ok"
    good = len(PROFILE.sensorthings.observed_properties)  # type: ignore[union-attr]
    streams = good + 1
    assert figures["datastreams"] == streams  # the other Datastream is not the profile's
    assert figures["count"] == 3 * good + 3  # every Observation of those Datastreams
    assert figures["lastUpdate"] == "2026-01-03T00:00:00+00:00"
    q = figures["quality"]
    assert q["items"] == streams
    assert q["valid"] == {"count": good, "share": round(good / streams, 6)}
    # The bad station: no stationId on its Thing, no profileVersion on its Datastream.
    assert q["completeness"]["Thing/stationId"] == round(good / streams, 6)
    assert q["completeness"]["Datastream/profileVersion"] == round(good / streams, 6)
    assert q["completeness"]["Datastream/profile"] == 1.0
    assert q["outside_code_list"] == {
        "ObservedProperty": 0,
        "unitOfMeasurement": 1,
        "observationType": 0,
    }
    # Only the window (the 2 latest) is read: the too-high first result is left out.
    assert sum(q["out_of_range"].values()) == 1
    assert q["observations"]["checked"] == 2 * streams
    assert q["geometry"]["missing"] == 1 and q["things"] == 2  # the bad Thing has no Location
    assert q["ids"]["duplicates"] == 0 and q["names"]["duplicates"] == 0
    assert q["freshness"]["stale_datastreams"] == streams  # January is long ago
    assert {e["problem"] for e in q["examples"]["code_list"]} == {"unit 'wrong', not 'ug/m3'"}


def test_the_profile_suite_runs_on_the_tenants_root_and_names_the_bad_datastream(
    stations: TestClient,
):
    runs = stations.app.state.data_catalog.conformance  # type: ignore[attr-defined]
    result = stations.portal.call(runs, DATASET)  # type: ignore[union-attr]
    assert result["status"] == "failed" and result["suite"] == "sensorthings-profile"
    assert result["target"] == "t/sta/v1.1/" and result["ranAt"]
    assert result["counts"]["pass"] >= 2 and result["counts"]["fail"] >= 3, result
    failed = {f["check"] for f in result["failures"]}
    assert {"sta-profile/unit", "sta-profile/results", "sta-profile/required-properties"} <= (
        failed
    )
    assert all("bad" in f["message"] for f in result["failures"])


def test_a_refresh_puts_figures_conformance_and_gauges_in_the_cell(stations: TestClient):
    state = stations.app.state  # type: ignore[attr-defined]
    settings = CatalogSettings(observation_window=5, stale_seconds=3600)
    compute = SensorThingsFigures(state.sensorthings, settings)
    refresher = Refresher([DATASET], settings, compute, state.data_catalog.conformance)
    stations.portal.call(refresher.refresh)  # type: ignore[union-attr]
    doc = dataset_doc("http://h", DATASET, refresher.figures[DATASET.key])
    assert doc["status"] == "ok"
    assert doc["conformance"]["status"] == "failed"  # the bad station; not 'not-run'
    assert doc["conformance"]["links"][0]["href"] == "http://h/t/sta/v1.1/"
    found = gauges(stations.get("/metrics").text)
    labels = {"dataset": DATASET.key, "profile": PROFILE.id, "tenant": "t"}

    def value(name: str, **more: str) -> float:
        return found[(name, frozenset({**labels, **more}.items()))]

    streams = len(PROFILE.sensorthings.observed_properties) + 1  # type: ignore[union-attr]
    assert value("twinbridge_catalog_datastreams") == streams
    assert value("twinbridge_catalog_items") == 3 * streams  # Observations
    assert value("twinbridge_catalog_completeness_ratio", property="Thing/stationId") < 1
    unit = {"property": "unitOfMeasurement", "check": "code_list"}
    assert value("twinbridge_catalog_implausible_values", **unit) == 1
    assert value("twinbridge_catalog_geometry_problems", problem="missing") == 1
    assert value("twinbridge_catalog_stale_datastreams") == streams
    assert value("twinbridge_catalog_conformance_passed") == 0
    assert value("twinbridge_catalog_valid_ratio") < 1


def test_a_sensorthings_dataset_links_its_datastreams():
    dataset = Dataset(PROFILE, "leipzig", SENSORTHINGS, None, "Sensors", "")
    hrefs = {x["rel"]: x["href"] for x in dataset_links("http://h", dataset)}
    assert hrefs["data"] == "http://h/leipzig/sta/v1.1/Datastreams"
    assert dataset.key == "leipzig/sta/air-quality"


def test_profiles_are_found_wherever_the_sensorthings_block_names_them():
    block = {
        "title": "x",
        "sync": [{"kind": "ngsi-v2", "profile": "air-quality"}, {"profile": None}],
        "imports": [{"profile": "noise"}, {"profile": "air-quality"}],
    }
    assert list(dict.fromkeys(_profile_names(block))) == ["air-quality", "noise"]
