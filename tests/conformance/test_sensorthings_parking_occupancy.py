"""The parking-occupancy profile's conformance on the demo (--profile parking-occupancy):
Aarhus' car parks (NGSI-LD OffStreetParking, occupancy a ratio converted to %), München's
(the city's parking-guidance REST API through the `rest` sync: "frei", "auslastung" in %)
and the federated root pass every rule; a server broken in one way fails exactly that rule
(and the schema), and one serving an invalid example of the profile fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import profiles
from conformance.model import Status
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, explain, flagged, wait_for_profiled
from tests.conformance.sta_profile_demo import as_example, federated, first
from tests.conformance.test_sensorthings_profile import RULES, Mutation, _drop, _results, _set
from tests.conformance.test_sensorthings_profile import run_profile as _run

PROFILE = "parking-occupancy"
AARHUS = "/aarhus/sta/v1.1"
MUENCHEN = "/muenchen/sta/v1.1"
INVALID = sorted((profiles.get(PROFILE).path / "examples" / "invalid").glob("*.json"))


@pytest.fixture(scope="module")
def synced(loop_thread: LoopThread, demo_app: Any) -> Any:
    loop_thread.run(wait_for_profiled(demo_app, (AARHUS, MUENCHEN), PROFILE))
    return demo_app


def run_profile(lt: LoopThread, app: Any, root: str = MUENCHEN) -> Any:
    return _run(lt, app, root, profile=PROFILE)


def _first(suffix: str, mutate: Mutation) -> Callable[[Any, B.Scope], Any]:
    return first(PROFILE, suffix, mutate)


@pytest.mark.parametrize("root", [AARHUS, MUENCHEN, "/sta/v1.1"])
def test_the_demo_conforms_to_parking_occupancy(loop_thread: LoopThread, synced: Any, root: str):
    report = run_profile(loop_thread, synced, root)
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert passed == RULES, explain(report)


def test_the_federated_root_unites_both_cities_in_one_definition_and_unit(
    loop_thread: LoopThread, synced: Any
):
    streams = loop_thread.run(federated(synced, PROFILE))
    for name, unit in (("Occupancy", "%"), ("Available parking spaces", "{spaces}")):
        mine = [s for s in streams if s["ObservedProperty"]["name"] == name]
        assert {str(s["@iot.id"]).split(":")[0] for s in mine} == {"aarhus", "muenchen"}
        assert {s["unitOfMeasurement"]["symbol"] for s in mine} == {unit}
        assert len({s["ObservedProperty"]["definition"] for s in mine}) == 1


CASES: list[tuple[str, str, str, Mutation, set[str]]] = [
    (
        "occupancy as a ratio",
        AARHUS,
        "occupancy",
        _set("unitOfMeasurement.definition", "http://unitsofmeasure.org/ucum.html#1"),
        {"sta-profile/unit"},
    ),
    ("occupancy above 100", MUENCHEN, "occupancy", _results(130.0), {"sta-profile/results"}),
    ("free spaces as text", MUENCHEN, "available_spots", _results(str), {"sta-profile/results"}),
    (
        "counts as measurements",
        AARHUS,
        "totalSpotNumber",
        _set(
            "observationType",
            "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        ),
        {"sta-profile/observation-type"},
    ),
    (
        "car park without stationId",
        MUENCHEN,
        "total_spots",
        _drop("Thing.properties.stationId"),
        {"sta-profile/required-properties"},
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


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_a_server_serving_an_invalid_example_fails(
    loop_thread: LoopThread, synced: Any, path: Path
):
    change = _first("available_spots", as_example(path))
    broken = B.rewrite_json(synced, B.on_path(rf"{MUENCHEN}/Datastreams$"), change)
    report = run_profile(loop_thread, broken, MUENCHEN)
    assert "sta-profile/schema" in flagged(report), explain(report)
