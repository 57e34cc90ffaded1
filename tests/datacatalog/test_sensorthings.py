"""SensorThings datasets of the catalog: found where a tenant's SensorThings configuration
names a profile, and figured from the Datastreams that declare it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

import profiles
from gateway.app import create_app
from gateway.datacatalog.cells import SENSORTHINGS, Dataset, _profile_names
from gateway.datacatalog.config import CatalogSettings
from gateway.datacatalog.documents import dataset_links
from gateway.datacatalog.sta import SensorThingsFigures
from tests.sensorthings.conftest import KEY, sta_config

PROFILE = profiles.get("street-trees")  # any profile: the figures only read its id


def stream(name: str, profile: str | None, times: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": name,
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": "degree Celsius", "symbol": "Cel", "definition": "ucum"},
        "properties": {"profile": profile} if profile else {},
        "ObservedProperty": {"name": "t", "definition": "urn:t", "description": "t"},
        "Sensor": {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "s"},
        "Observations": [{"phenomenonTime": t, "result": 1.5} for t in times],
    }


def test_figures_count_the_datastreams_that_declare_the_profile(tmp_path: Path):
    loaded, env = sta_config(tmp_path)
    with TestClient(create_app(loaded)) as client:
        thing = {
            "name": "station",
            "description": "a station",
            "Locations": [
                {
                    "name": "here",
                    "description": "here",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [12.37, 51.34]},
                }
            ],
            "Datastreams": [
                stream("a", PROFILE.id, ["2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"]),
                stream("b", PROFILE.id, ["2026-01-02T00:00:00Z"]),
                stream("c", None, ["2026-02-01T00:00:00Z"]),  # not the profile's
            ],
        }
        created = client.post("/t/sta/v1.1/Things", json=thing, headers={"X-API-Key": KEY})
        assert created.status_code == 201, created.text
        compute = SensorThingsFigures(client.app.state.sensorthings, CatalogSettings())  # type: ignore[attr-defined]
        dataset = Dataset(PROFILE, "t", SENSORTHINGS, None, "Sensors", "")
        figures = client.portal.call(compute, dataset)  # type: ignore[union-attr]
    assert figures["status"] == "ok"
    assert figures["datastreams"] == 2
    assert figures["count"] == 3  # observations of those Datastreams only
    assert figures["lastUpdate"] == "2026-01-03T00:00:00+00:00"
    assert figures["quality"]["items"] == 2
    assert figures["quality"]["valid"]["share"] == 0.0  # not street trees, of course


def test_a_sensorthings_dataset_links_its_datastreams():
    dataset = Dataset(PROFILE, "leipzig", SENSORTHINGS, None, "Sensors", "")
    hrefs = {x["rel"]: x["href"] for x in dataset_links("http://h", dataset)}
    assert hrefs["data"] == "http://h/leipzig/sta/v1.1/Datastreams"
    assert dataset.key == "leipzig/sta/street-trees"


def test_profiles_are_found_wherever_the_sensorthings_block_names_them():
    block = {
        "title": "x",
        "sync": [{"kind": "ngsi-v2", "profile": "air-quality"}, {"profile": None}],
        "imports": [{"profile": "noise"}, {"profile": "air-quality"}],
    }
    assert list(dict.fromkeys(_profile_names(block))) == ["air-quality", "noise"]
