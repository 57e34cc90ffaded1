"""The energy profile's conformance on the demo (--profile energy): Aarhus' building meters
(NGSI-LD ACMeasurement, synchronised), Leipzig's (an Array-of-Things-style digest, imported
with the profile) and the federated root pass every rule; a server broken in one way fails
exactly that rule (and the schema, which holds them all)."""

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

PROFILE = "energy"
AARHUS = "/aarhus/sta/v1.1"
LEIPZIG = "/leipzig/sta/v1.1"
SDM = "https://smartdatamodels.org/dataModel.Energy/"


@pytest.fixture(scope="module")
def synced(loop_thread: LoopThread, demo_app: Any) -> Any:
    loop_thread.run(wait_for_profiled(demo_app, (AARHUS, LEIPZIG), PROFILE))
    return demo_app


def run_profile(lt: LoopThread, app: Any, root: str = AARHUS) -> Any:
    return _run(lt, app, root, profile=PROFILE)


@pytest.mark.parametrize("root", [AARHUS, LEIPZIG, "/sta/v1.1"])
def test_the_demo_conforms_to_energy(loop_thread: LoopThread, synced: Any, root: str):
    """NGSI-LD unitCode KWH/KWT and a digest's kWh/kW end in the same Datastreams; the
    federated root unites both cities."""
    report = run_profile(loop_thread, synced, root)
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert passed == RULES, explain(report)
    assert f"profile:{PROFILE}@1.0.0/unit" in {r.requirement.id for r in report.results}


def test_the_federated_root_unites_both_cities_meters_with_one_definition_and_unit(
    loop_thread: LoopThread, synced: Any
):
    async def streams() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=synced)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            params = {
                "$filter": f"properties/profile eq '{PROFILE}'",
                "$expand": "ObservedProperty",
                "$top": "1000",
            }
            return (await c.get("/sta/v1.1/Datastreams", params=params)).json()["value"]

    got = {d["name"]: d for d in loop_thread.run(streams())}
    aarhus = got["Aarhus Ø - Skole Isbjerget totalActiveEnergyImport"]  # NGSI-LD
    leipzig = got["LE-E002 meter.ehz.energy_import"]  # the digest
    for stream in (aarhus, leipzig):
        assert stream["ObservedProperty"]["definition"] == SDM + "totalActiveEnergyImport"
        assert stream["unitOfMeasurement"]["symbol"] == "kW.h"
    produced = {
        n for n, d in got.items() if d["ObservedProperty"]["name"] == "Active energy produced"
    }
    assert "Aarhus Ø - Parkeringshus totalActiveEnergyExport" in produced
    assert "LE-E003 pvmeter.ehz.energy_export" in produced


def test_a_root_without_meters_skips_with_the_reason(loop_thread: LoopThread, synced: Any):
    """Rotterdam serves air and water quality only: every rule skips."""
    report = run_profile(loop_thread, synced, "/rotterdam/sta/v1.1")
    assert {r.status for r in report.results} == {Status.SKIP}
    assert all(f"no Datastream of {PROFILE}" in r.message for r in report.results)


def _first(suffix: str, mutate: Mutation) -> Callable[[Any, B.Scope], Any]:
    return first(PROFILE, suffix, mutate)


WATT = {"name": "watt", "symbol": "W", "definition": "http://unitsofmeasure.org/ucum.html#W"}
CASES: list[tuple[str, str, str, Mutation, set[str]]] = [
    (
        "power in W",
        AARHUS,
        "totalActivePower",
        _set("unitOfMeasurement", WATT),
        {"sta-profile/unit"},
    ),
    (
        "kWh written as kWh",
        LEIPZIG,
        "meter.ehz.energy_import",
        _set("unitOfMeasurement.symbol", "kWh"),
        {"sta-profile/unit"},
    ),
    (
        "an OBIS code for a definition",
        LEIPZIG,
        "meter.ehz.power",
        _set("ObservedProperty.definition", "urn:obis:1-0:1.7.0"),
        {"sta-profile/observed-property"},
    ),
    ("negative power", AARHUS, "totalActivePower", _results(-5.0), {"sta-profile/results"}),
    (
        "registers as text",
        LEIPZIG,
        "pvmeter.ehz.energy_export",
        _results(str),
        {"sta-profile/results"},
    ),
    (
        "Thing without stationId",
        LEIPZIG,
        "meter.ehz.energy_import",
        _drop("Thing.properties.stationId"),
        {"sta-profile/required-properties"},
    ),
    (
        "older profile version",
        AARHUS,
        "totalActiveEnergyImport",
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
