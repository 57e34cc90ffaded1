"""The water-quality profile's conformance on the demo (--profile water-quality): Rotterdam's
river probes (NGSI-v2, turbidity's unit configured), Aarhus' water stations (NGSI-LD) and
the federated root pass every rule; a server broken in one way fails exactly that rule
(and the schema, which holds them all)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.model import Status
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, explain, flagged, wait_for_profiled
from tests.conformance.sta_profile_demo import first
from tests.conformance.test_sensorthings_profile import RULES, Mutation, _drop, _results, _set
from tests.conformance.test_sensorthings_profile import run_profile as _run

PROFILE = "water-quality"
ROTTERDAM = "/rotterdam/sta/v1.1"
AARHUS = "/aarhus/sta/v1.1"


@pytest.fixture(scope="module")
def synced(loop_thread: LoopThread, demo_app: Any) -> Any:
    loop_thread.run(wait_for_profiled(demo_app, (ROTTERDAM, AARHUS), PROFILE))
    return demo_app


def run_profile(lt: LoopThread, app: Any, root: str = ROTTERDAM) -> Any:
    return _run(lt, app, root, profile=PROFILE)


@pytest.mark.parametrize("root", [ROTTERDAM, AARHUS, "/sta/v1.1"])
def test_the_demo_conforms_to_water_quality(loop_thread: LoopThread, synced: Any, root: str):
    """NGSI-v2 metadata.unitCode (and a configured unit for turbidity) and NGSI-LD unitCode
    end in the same Datastreams; the federated root unites both cities."""
    report = run_profile(loop_thread, synced, root)
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert passed == RULES, explain(report)
    assert f"profile:{PROFILE}@1.0.0/unit" in {r.requirement.id for r in report.results}


def test_the_federated_root_holds_both_cities_water_datastreams(
    loop_thread: LoopThread, synced: Any
):
    async def names() -> set[str]:
        transport = httpx.ASGITransport(app=synced)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            params = {"$filter": f"properties/profile eq '{PROFILE}'", "$top": "1000"}
            doc = (await c.get("/sta/v1.1/Datastreams", params=params)).json()
            return {d["name"] for d in doc["value"]}

    got = loop_thread.run(names())
    assert "Nieuwe Maas - Brienenoordbrug turbidity" in got  # Rotterdam, NGSI-v2
    assert "Aarhus-Aa-Mollestien pH" in got  # Aarhus, NGSI-LD


def test_a_root_without_water_stations_skips_with_the_reason(loop_thread: LoopThread, synced: Any):
    """Leipzig serves only air quality: nothing of water-quality, so every rule skips."""
    report = run_profile(loop_thread, synced, "/leipzig/sta/v1.1")
    assert {r.status for r in report.results} == {Status.SKIP}
    assert all(f"no Datastream of {PROFILE}" in r.message for r in report.results)


def _first(suffix: str, mutate: Mutation) -> Callable[[Any, B.Scope], Any]:
    return first(PROFILE, suffix, mutate)


NTU_NOT_UCUM = {
    "name": "NTU",
    "symbol": "NTU",
    "definition": "http://unitsofmeasure.org/ucum.html#NTU",
}
CASES: list[tuple[str, str, str, Mutation, set[str]]] = [
    (
        "turbidity in NTU",
        ROTTERDAM,
        "turbidity",
        _set("unitOfMeasurement", NTU_NOT_UCUM),
        {"sta-profile/unit"},
    ),
    (
        "conductivity in mS/cm",
        AARHUS,
        "conductivity",
        _set("unitOfMeasurement.symbol", "mS/cm"),
        {"sta-profile/unit"},
    ),
    (
        "pH defined by Smart Data Models",
        AARHUS,
        "pH",
        _set(
            "ObservedProperty.definition", "https://smartdatamodels.org/dataModel.WaterQuality/pH"
        ),
        {"sta-profile/observed-property"},
    ),
    ("pH results out of range", ROTTERDAM, "pH", _results(15.5), {"sta-profile/results"}),
    ("nitrate results as text", ROTTERDAM, "NO3", _results(str), {"sta-profile/results"}),
    (
        "Thing without stationId",
        ROTTERDAM,
        "O2",
        _drop("Thing.properties.stationId"),
        {"sta-profile/required-properties"},
    ),
    (
        "older profile version",
        AARHUS,
        "O2",
        _set("properties.profileVersion", "0.9.0"),
        {"sta-profile/version"},
    ),
]


@pytest.mark.parametrize(
    ("name", "root", "suffix", "mutate", "rules"), CASES, ids=[c[0] for c in CASES]
)
def test_each_rule_fails_on_its_broken_server(
    loop_thread: LoopThread,
    synced: Any,
    name: str,
    root: str,
    suffix: str,
    mutate: Mutation,
    rules: set[str],
):
    broken = B.rewrite_json(synced, B.on_path(rf"{root}/Datastreams$"), _first(suffix, mutate))
    report = run_profile(loop_thread, broken, root)
    assert flagged(report) == {*rules, "sta-profile/schema"}, f"{name}:\n{explain(report)}"
    failed = next(r for r in report.results if r.check in rules)
    assert suffix.lower() in failed.message.lower(), failed.message
