"""The NGSI seed of the demo: deterministic, realistic, and loadable into the in-process
NGSI test broker through its own API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx

from conformance.runner import run as run_suite
from gateway.demo.ngsi_seed import (
    AIR,
    LINK,
    ROTTERDAM_PATH,
    ROTTERDAM_SERVICE,
    ROTTERDAM_WATER_PATH,
    aarhus_entities,
    hours,
    load_into_apps,
    rotterdam_entities,
    rotterdam_water_entities,
)
from gateway.demo.ngsibroker import create_app
from gateway.demo.ngsibroker.ld import create_ld_app
from gateway.sensorthings.sync.config import AttributeSelection
from gateway.sensorthings.sync.ngsimap import from_ld, from_v2

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SUITES = ("sensorthings",)
FLAGGED = ("fail", "error")


def test_values_depend_only_on_station_and_hour():
    assert rotterdam_entities(NOON) == rotterdam_entities(NOON)
    window_a, window_b = hours(NOON, 48), hours(NOON, 5)
    assert window_a[-5:] == window_b
    assert rotterdam_entities(window_a[-3]) == rotterdam_entities(window_b[-3])
    assert aarhus_entities(window_a[-1]) == aarhus_entities(window_b[-1])
    assert rotterdam_entities(window_a[0]) != rotterdam_entities(window_a[1])


def test_values_are_plausible_over_three_days():
    for at in hours(NOON, 72):
        for entity in rotterdam_entities(at):
            assert 0 <= entity["no2"]["value"] < 120 and 0 <= entity["pm25"]["value"] < 60
            assert 0 <= entity["o3"]["value"] < 120 and -10 < entity["temperature"]["value"] < 25
            assert set(AIR) <= set(entity)
        for entity in rotterdam_water_entities(at):
            assert 6.5 <= entity["pH"]["value"] <= 9 and 0 < entity["conductivity"]["value"] < 2000
            assert 4 < entity["O2"]["value"] < 16 and 0 <= entity["turbidity"]["value"] < 100
            assert 0 < entity["NO3"]["value"] < 50 and 0 < entity["temperature"]["value"] < 25


def test_seed_entities_map_onto_sensorthings_readings():
    v2 = [from_v2(e, AttributeSelection()) for e in rotterdam_entities(NOON)]
    assert len(v2) == 10 and all(len(d.readings) == 5 and d.location for d in v2)
    river = [from_v2(e, AttributeSelection()) for e in rotterdam_water_entities(NOON)]
    assert len(river) == 4 and all(d.location and not d.left_out for d in river)
    assert {r.attribute: r.unit_code for r in river[0].readings} == {
        "temperature": "CEL",
        "pH": "Q30",
        "conductivity": "G42",
        "O2": "M1",
        "turbidity": None,  # UN/CEFACT has no turbidity unit: the sync configures {NTU}
        "NO3": "M1",
    }
    ld = [from_ld(e, AttributeSelection()) for e in aarhus_entities(NOON)]
    assert {d.type for d in ld} == {"AirQualityObserved", "WaterQualityObserved"}
    water = next(d for d in ld if d.type == "WaterQualityObserved")
    assert {r.attribute: r.unit_code for r in water.readings} == {
        "temperature": "CEL",
        "pH": "Q30",
        "conductivity": "G42",
        "O2": "M1",
    }


def test_the_seed_loads_into_the_in_process_v2_broker():
    app = create_app(v2=True)

    async def run() -> tuple[list, list]:
        counts = await load_into_apps(app, None, hours_back=3, end=NOON)
        assert (counts.hours, counts.v2_entities) == (3, 23)  # air 10, river 4, lanes 6, levels 3
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            found = []
            for path in (ROTTERDAM_PATH, ROTTERDAM_WATER_PATH):
                r = await client.get(
                    "/v2/entities?limit=100",
                    headers={"Fiware-Service": ROTTERDAM_SERVICE, "Fiware-ServicePath": path},
                )
                found.append(r.json())
            return found[0], found[1]

    entities, river = asyncio.run(run())
    assert len(entities) == 10 and {e["type"] for e in entities} == {"AirQualityObserved"}
    assert len(river) == 4 and {e["type"] for e in river} == {"WaterQualityObserved"}
    assert {e["dateObserved"]["value"] for e in entities} == {
        "2026-03-02T12:00:00.000Z"
    }  # Orion renders ms


def test_the_seed_loads_into_the_in_process_ld_broker_with_its_history():
    app = create_ld_app()

    async def run() -> list:
        counts = await load_into_apps(None, app, hours_back=4, end=NOON)
        assert (counts.hours, counts.ld_entities) == (4, 19)  # air, water, meters, noise, parks
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            r = await client.get(
                "/ngsi-ld/v1/temporal/entities?type=WaterQualityObserved&timerel=after"
                "&timeAt=2026-01-01T00:00:00Z&lastN=10",
                headers={"Link": LINK},
            )
            return r.json()

    water = asyncio.run(run())
    assert len(water) == 3 and all(len(e["pH"]) == 4 for e in water)


def test_the_example_configuration_serves_both_demo_brokers_as_conformant_sensorthings(
    tmp_path, monkeypatch
):
    from gateway.app import create_app as create_gateway
    from gateway.config import load_config
    from gateway.demo.ngsi_seed import start_demo_brokers
    from tests.sensorthings.ngsi_sync import count, serve, wait_for

    brokers = start_demo_brokers(hours_back=6)
    try:
        monkeypatch.setenv("TWINBRIDGE_NGSI_V2_URL", brokers.v2_url)
        monkeypatch.setenv("TWINBRIDGE_NGSI_LD_URL", brokers.ld_url)
        monkeypatch.setenv("TWINBRIDGE_NGSI_DIR", str(tmp_path))
        root = Path(__file__).resolve().parents[2]
        loaded = load_config(root / "examples" / "ngsi-sensorthings.yaml")
        with serve(create_gateway(loaded)) as url:
            aarhus = wait_for(
                lambda: count(url, "/aarhus/sta/v1.1/Observations"), lambda n: n >= 222
            )
            assert aarhus == 37 * 6  # the history of six hours
            assert (
                wait_for(lambda: count(url, "/rotterdam/sta/v1.1/Observations"), lambda n: n >= 50)
                == 50
            )
            assert count(url, "/sta/v1.1/Things") == 18  # both in the federated view
            for tenant in ("rotterdam", "aarhus"):  # what the sync made passes the STA suite
                report = asyncio.run(run_suite(f"{url}/{tenant}/sta/v1.1", suites=SUITES))
                failed = [r.label for r in report.results if r.status.value in FLAGGED]
                assert failed == [] and report.summary()["pass"] > 90, (tenant, failed)
    finally:
        brokers.stop()
