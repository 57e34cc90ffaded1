"""The traffic-flow profile's conformance on the demo (--profile traffic-flow): Rotterdam's
detector lanes (NGSI-v2 TrafficFlowObserved, synchronised), Leipzig's induction loops (an
Array-of-Things-style digest, imported with the profile) and the federated root pass every
rule; a server broken in one way fails exactly that rule (and the schema)."""

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

PROFILE = "traffic-flow"
ROTTERDAM = "/rotterdam/sta/v1.1"
LEIPZIG = "/leipzig/sta/v1.1"
SDM = "https://smartdatamodels.org/dataModel.Transportation/"
OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"


@pytest.fixture(scope="module")
def synced(loop_thread: LoopThread, demo_app: Any) -> Any:
    loop_thread.run(wait_for_profiled(demo_app, (ROTTERDAM, LEIPZIG), PROFILE))
    return demo_app


def run_profile(lt: LoopThread, app: Any, root: str = ROTTERDAM) -> Any:
    return _run(lt, app, root, profile=PROFILE)


@pytest.mark.parametrize("root", [ROTTERDAM, LEIPZIG, "/sta/v1.1"])
def test_the_demo_conforms_to_traffic_flow(loop_thread: LoopThread, synced: Any, root: str):
    report = run_profile(loop_thread, synced, root)
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert passed == RULES, explain(report)


async def _datastreams(app: Any, root: str, query: str) -> list[dict[str, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        params = {"$filter": query, "$expand": "ObservedProperty", "$top": "1000"}
        return (await c.get(f"{root}/Datastreams", params=params)).json()["value"]


def test_the_federated_root_unites_both_cities_counts_and_speeds(
    loop_thread: LoopThread, synced: Any
):
    """One definition, one unit for Rotterdam's hourly and Leipzig's 15-minute counts."""
    streams = loop_thread.run(
        _datastreams(synced, "/sta/v1.1", f"properties/profile eq '{PROFILE}'")
    )
    got = {d["name"]: d for d in streams}
    pairs = [
        ("Maastunnel noord rijstrook 1 intensity", "LE-V011 loop.idl.count", "intensity"),
        (
            "Coolsingel rijstrook 2 averageVehicleSpeed",
            "LE-V042 loop.idl.speed",
            "averageVehicleSpeed",
        ),
    ]
    for rotterdam, leipzig, term in pairs:
        a, b = got[rotterdam], got[leipzig]
        assert (
            a["ObservedProperty"]["definition"] == b["ObservedProperty"]["definition"] == SDM + term
        )
        assert a["unitOfMeasurement"] == b["unitOfMeasurement"]
        assert a["observationType"] == b["observationType"]
    assert got["LE-V011 loop.idl.count"]["observationType"] == OM + "OM_CountObservation"
    assert "LE-V011 loop.idl.occupancy" in got


def test_rotterdams_fractional_occupancy_is_converted_to_percent(
    loop_thread: LoopThread, synced: Any
):
    """SDM's occupancy is a fraction 0..1 (C62) where the profile says percent: the sync
    entry's `convert: {occupancy: "1"}` serves it in % (x 100), as Leipzig's loops are."""

    async def read() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=synced)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            params = {
                "$filter": "properties/attribute eq 'occupancy'"
                f" and properties/profile eq '{PROFILE}'",
                "$expand": "ObservedProperty,Observations($top=24;$orderby=phenomenonTime desc)",
                "$top": "1000",
            }
            return (await c.get(f"{ROTTERDAM}/Datastreams", params=params)).json()["value"]

    rotterdam = loop_thread.run(read())
    assert rotterdam, "Rotterdam's occupancy Datastreams are synced"
    results = [o["result"] for d in rotterdam for o in d["Observations"]]
    assert all(d["unitOfMeasurement"]["symbol"] == "%" for d in rotterdam)
    assert all(0 <= r <= 100 for r in results) and max(results) > 1, results
    leipzig = loop_thread.run(_datastreams(synced, LEIPZIG, f"properties/profile eq '{PROFILE}'"))
    occupancy = [d for d in leipzig if d["ObservedProperty"]["name"] == "Occupancy"]
    assert occupancy and all(d["unitOfMeasurement"]["symbol"] == "%" for d in occupancy)


def _first(suffix: str, mutate: Mutation) -> Callable[[Any, B.Scope], Any]:
    return first(PROFILE, suffix, mutate)


MPS = {"name": "m/s", "symbol": "m/s", "definition": "http://unitsofmeasure.org/ucum.html#m/s"}
CASES: list[tuple[str, str, str, Mutation, set[str]]] = [
    (
        "speed in m/s",
        ROTTERDAM,
        "averageVehicleSpeed",
        _set("unitOfMeasurement", MPS),
        {"sta-profile/unit"},
    ),
    ("counts as fractions", LEIPZIG, "loop.idl.count", _results(12.5), {"sta-profile/results"}),
    (
        "counts as measurements",
        ROTTERDAM,
        "intensity",
        _set("observationType", OM + "OM_Measurement"),
        {"sta-profile/observation-type"},
    ),
    (
        "occupancy over 100 %",
        LEIPZIG,
        "loop.idl.occupancy",
        _results(140.0),
        {"sta-profile/results"},
    ),
    (
        "a DATEX II flow rate for a count",
        ROTTERDAM,
        "intensity",
        _set(
            "ObservedProperty.definition", "http://datex2.eu/schema/3/roadTrafficData#TrafficFlow"
        ),
        {"sta-profile/observed-property"},
    ),
    (
        "Thing without stationId",
        LEIPZIG,
        "loop.idl.speed",
        _drop("Thing.properties.stationId"),
        {"sta-profile/required-properties"},
    ),
    (
        "older profile version",
        ROTTERDAM,
        "intensity",
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
