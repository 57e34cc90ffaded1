"""A `rest` sync source end to end, over loopback HTTP: the gateway polls the PEGELONLINE-
style test API (gateway/demo/restapis/pegel.py) with an API key from the environment and
fills the water-level profile's Datastreams; each poll asks a series only for what is new;
a gauge whose series fails, or an API refusing the key, reaches the logs and /metrics and
never stops the gateway."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from gateway.app import create_app
from gateway.demo.restapis import laerm, pegel
from gateway.sensorthings.sync.rest import RestSource, at, instant
from gateway.sensorthings.sync.restconfig import RestSync
from gateway.sensorthings.timefmt import iso
from tests.sensorthings.conftest import sta_config
from tests.sensorthings.ngsi_sync import serve, wait_for

STA = "/t/sta/v1.1"
KEY = "pegel-key-for-tests"
ENV = "TB_TEST_PEGEL_KEY"
BROKEN = pegel.gauge_uuid("5952020")  # BUNTHAUS: its series answers 500
WMO_LEVEL = "http://codes.wmo.int/wmdr/ObservedVariableTerrestrial/12252"


class Recorder:
    """The API, recording each request's path and query."""

    def __init__(self, app: Any, seen: list[tuple[str, str]]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["path"], scope["query_string"].decode()))
        await self.app(scope, receive, send)


@pytest.fixture
def api_key() -> Iterator[str]:
    os.environ[ENV] = KEY
    yield ENV
    os.environ.pop(ENV, None)


def source(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "rest",
        "name": "pegel",
        "url": f"{url}{pegel.ROOT}",
        "entity_type": "Pegel",
        "stations": {
            "path": "stations.json?includeTimeseries=true&includeCurrentMeasurement=true",
            "id": "uuid",
            "name": "longname",
            "lon": "longitude",
            "lat": "latitude",
            "properties": {"gaugeZero": "timeseries.0.gaugeZero.value", "km": "nowhere"},
            "constants": {"waterBodyCategory": "TW"},
        },
        "readings": {
            "water_level": {
                "path": "stations/{id}/W/measurements.json",
                "value": "value",
                "time": "timestamp",
                "since_param": "start",
                "unit": "cm",
            }
        },
        "auth_header": "X-Api-Key",
        "auth_env": ENV,
        "interval": 0.3,
        "history_hours": 6,
        "profile": "water-level",
        "profile_version": "1.0.0",
        **extra,
    }


@contextmanager
def gateway(tmp: Path, sync: dict[str, Any]) -> Iterator[str]:
    loaded, _ = sta_config(tmp / uuid.uuid4().hex[:8], {"t": {"sync": [sync]}})
    with serve(create_app(loaded)) as url:
        yield url


def metric(url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.findall(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.M)
    return sum(float(v) for lab, v in found if all(p in lab for p in want.split(",")))


def test_the_gauges_become_profiled_datastreams_in_cm(tmp_path: Path, api_key: str, caplog):
    with (
        serve(pegel.create_app(failing={BROKEN}, key=KEY)) as api,
        gateway(tmp_path, source(api)) as url,
    ):
        params = {
            "$filter": "properties/profile eq 'water-level'",
            "$expand": "ObservedProperty,Thing",
            "$count": "true",
        }
        doc = wait_for(
            lambda: httpx.get(f"{url}{STA}/Datastreams", params=params, timeout=10).json(),
            lambda d: d.get("@iot.count", 0) >= 3,
            timeout=30,
        )
        streams = doc["value"]
        assert {s["Thing"]["name"] for s in streams} == {
            "HAMBURG ST. PAULI",
            "HAMBURG-SEEMANNSHÖFT",
            "HAMBURG-HARBURG SCHLEUSE",
        }  # Bunthaus' series fails: no Datastream, the others go on
        for s in streams:
            assert s["unitOfMeasurement"]["symbol"] == "cm"
            assert s["ObservedProperty"]["definition"] == WMO_LEVEL
            assert s["properties"]["profileVersion"] == "1.0.0"
            thing = s["Thing"]["properties"]
            assert (thing["gaugeZero"], thing["waterBodyCategory"]) == (-5.0, "TW")
            assert "km" not in thing  # a path without a value: left out
            assert s["Thing"]["properties"]["stationId"] == pegel.gauge_uuid(
                next(g[0] for g in pegel.GAUGES if g[2] == s["Thing"]["name"])
            )
        first = streams[0]["@iot.id"]
        obs = httpx.get(
            f"{url}{STA}/Datastreams({first})/Observations",
            params={"$count": "true", "$top": "1"},
            timeout=10,
        ).json()
        assert obs["@iot.count"] >= 6 * 4  # six hours of quarter hours
        failed = wait_for(
            lambda: metric(
                url,
                "twinbridge_data_quality_total",
                source="t/pegel",
                field="water_level",
                problem="source",
            ),
            lambda v: v >= 1,
        )
        assert failed >= 1
    assert any(BROKEN in r.getMessage() and "500" in r.getMessage() for r in caplog.records)


def test_each_poll_asks_a_series_only_for_what_is_new(api_key: str):
    seen: list[tuple[str, str]] = []
    with serve(Recorder(pegel.create_app(key=KEY), seen)) as api:
        src = RestSource("t", RestSync.model_validate(source(api)))

        async def polls() -> tuple[list[Any], list[Any], list[Any]]:
            try:
                now = datetime.now(UTC)
                first, again = await src.poll(now), await src.poll(now)  # nothing stored yet
                src.commit()  # the scheduler's, once the store holds what was read
                return first, again, await src.poll()
            finally:
                await src.close()

        first, again, second = asyncio.run(polls())
    series = [q for p, q in seen if p.endswith("/measurements.json")]
    n = len(pegel.GAUGES)
    assert len(series) == 3 * n
    assert series[:n] == series[n : 2 * n]  # an uncommitted window is read again
    latest = max(r.start for r in again[0].readings)
    assert series[2 * n] == f"start={iso(latest).replace(':', '%3A')}"
    assert all(len(e.readings) >= 24 for e in first)
    assert all(1 <= len(e.readings) <= 2 for e in second)  # the latest again, or one more


def test_an_api_refusing_the_key_fails_runs_not_the_gateway(tmp_path: Path, caplog):
    os.environ[ENV] = "a-wrong-key"
    try:
        with serve(pegel.create_app(key=KEY)) as api, gateway(tmp_path, source(api)) as url:
            failed = wait_for(
                lambda: metric(
                    url, "twinbridge_sync_runs_total", source="t/pegel", outcome="failed"
                ),
                lambda v: v >= 1,
            )
            assert failed >= 1
            assert httpx.get(f"{url}{STA}/Things", timeout=10).json()["value"] == []
    finally:
        os.environ.pop(ENV, None)
    logged = [r.getMessage() for r in caplog.records if "t/pegel failed" in r.getMessage()]
    assert logged and "401" in logged[0] and "a-wrong-key" not in logged[0]


def test_an_unset_key_variable_stops_start_up():
    os.environ.pop(ENV, None)
    with pytest.raises(ValidationError, match=f"the environment variable {ENV} is not set"):
        RestSync.model_validate(source("http://127.0.0.1:9"))


def test_a_reading_key_the_profile_lacks_stops_start_up(api_key: str):
    bad = source("http://127.0.0.1:9")
    bad["readings"] = {"tide": bad["readings"]["water_level"]}
    with pytest.raises(ValidationError, match=r"unknown keys of 'water-level': \['tide'\]"):
        RestSync.model_validate(bad)


def test_paths_and_times_read_what_apis_send():
    doc = {"a": [{"b": {"c": 5}}], "t": 1_765_000_000_000}
    assert at(doc, "a.0.b.c") == 5 and at(doc, "a.-1.b.c") == 5
    assert at(doc, "a.1.b") is at(doc, "x") is at(doc, "a.b")  # all MISSING
    assert instant(doc["t"]) == instant(1_765_000_000) == instant("2025-12-06T05:46:40Z")
    assert instant("2025-12-06T06:46:40+01:00") == instant("2025-12-06T05:46:40Z")
    assert instant("yesterday") is None and instant(True) is None


def test_readings_of_one_series_share_its_request_and_millisecond_times_are_read():
    """München's noise API: LAeq and LAmax come in one answer per monitor, times in ms."""
    seen: list[tuple[str, str]] = []
    with serve(Recorder(laerm.create_app(), seen)) as api:
        series = {"path": "messstellen/{id}/messwerte", "items": "messwerte", "time": "zeitpunkt"}
        cfg = {
            "kind": "rest",
            "name": "laerm",
            "url": f"{api}/api/v1",
            "stations": {
                "path": "messstellen",
                "items": "messstellen",
                "id": "kennung",
                "name": "bezeichnung",
                "lon": "geo.lng",
                "lat": "geo.lat",
            },
            "readings": {
                "laeq": {**series, "value": "leq", "unit": "dB"},
                "lamax": {**series, "value": "lmax"},
            },
            "history_hours": 2,
            "profile": "noise",
        }
        src = RestSource("m", RestSync.model_validate(cfg))

        async def once() -> list[Any]:
            try:
                return await src.poll()
            finally:
                await src.close()

        monitors = asyncio.run(once())
    assert len([p for p, _ in seen if p.endswith("/messwerte")]) == len(laerm.MONITORS)
    first = monitors[0]
    assert first.location == {"type": "Point", "coordinates": [11.5363, 48.1449]}
    assert {r.attribute for r in first.readings} == {"laeq", "lamax"}
    assert all(r.start % 900_000_000 == 0 for r in first.readings)  # quarter hours, in us
