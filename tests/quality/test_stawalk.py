"""`twinbridge quality` on a SensorThings root: the same figures as the catalog's, over
HTTP; a served demo city, and a tenant holding a deliberately bad station."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

import profiles
from gateway.app import create_app
from gateway.cli import app
from gateway.quality.html import render
from gateway.quality.stawalk import assess_sensorthings, service_root
from tests.datacatalog.stations import seed
from tests.sensorthings.conftest import KEY, sta_config

runner = CliRunner()
PROFILE = profiles.get("air-quality")
TIMES = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://h/rotterdam/sta/v1.1/", "http://h/rotterdam/sta/v1.1"),
        ("http://h/rotterdam/sta/v1.1/Datastreams?$top=1", "http://h/rotterdam/sta/v1.1"),
        ("http://h/rotterdam/", "http://h/rotterdam/sta/v1.1"),
        ("http://h/", "http://h/sta/v1.1"),
    ],
)
def test_the_service_root_is_found_from_any_url_near_it(url: str, root: str):
    assert service_root(url) == root


def test_a_bad_station_shows_in_the_report(tmp_path: Path):
    loaded, _ = sta_config(tmp_path)
    with TestClient(create_app(loaded)) as client:
        seed(client, "/t/sta/v1.1", PROFILE, TIMES, {"X-API-Key": KEY})
        transport = httpx.ASGITransport(app=client.app)
        assess = functools.partial(assess_sensorthings, transport=transport, stale_seconds=60)
        doc = client.portal.call(assess, "http://testserver/t/sta/v1.1/", PROFILE)  # type: ignore[union-attr]
    assert doc["walk"]["complete"] is True and doc["kind"] == "sensorthings"
    q = doc["quality"]
    streams = len(PROFILE.sensorthings.observed_properties) + 1  # type: ignore[union-attr]
    assert q["items"] == doc["walk"]["numberMatched"] == streams
    assert doc["observations"] == 3 * streams
    assert q["outside_code_list"]["unitOfMeasurement"] == 1
    assert q["observations"]["implausible"] == 2
    assert q["completeness"]["Thing/stationId"] < 1.0
    assert q["geometry"]["missing"] == 1
    page = render(doc)
    assert "unitOfMeasurement not the profile&#x27;s" in page and "<script" not in page
    assert '<span class="bad">1</span>' in page


def wait_for_observations(root: str, profile: str, timeout: float = 90.0) -> None:
    """The demo's NGSI tenants fill their Datastreams in the background after start-up."""
    params = {"$top": "1", "$filter": f"Datastream/properties/profile eq '{profile}'"}
    deadline = time.monotonic() + timeout
    while not httpx.get(f"{root}/Observations", params=params).json().get("value"):
        assert time.monotonic() < deadline, f"{root} has no {profile} Observations yet"
        time.sleep(0.5)


def test_quality_of_a_demo_citys_air_quality_datastreams(live_demo: str, tmp_path: Path):
    root = f"{live_demo}/rotterdam/sta/v1.1"
    wait_for_observations(root, "air-quality")
    report, page = tmp_path / "q.json", tmp_path / "q.html"
    args = ["quality", f"{root}/", "--profile", "air-quality", "--window", "10"]
    result = runner.invoke(
        app, [*args, "--json", str(report), "--html", str(page)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    q = doc["quality"]
    assert doc["target"] == f"{root}/Datastreams" and q["items"] > 0
    assert q["valid"]["share"] == 1.0
    assert set(q["completeness"].values()) == {1.0}
    assert q["observations"]["checked"] > 0 and q["observations"]["implausible"] == 0
    assert doc["observations"] > 0 and doc["lastUpdate"]
    assert "Datastreams of the profile" in result.output
    assert "<h1>Data quality: air-quality" in page.read_text()
