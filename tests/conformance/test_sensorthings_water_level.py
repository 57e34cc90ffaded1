"""The water-level profile's conformance on the demo (--profile water-level): Hamburg's tide
gauges (a PEGELONLINE-style REST API, the `rest` sync, cm), Rotterdam's river stations
(NGSI-v2 WaterObserved, height converted from m) and the federated root pass every rule; a
server broken in one way fails exactly that rule (and the schema), and one serving an
invalid example of the profile fails."""

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

PROFILE = "water-level"
HAMBURG = "/hamburg/sta/v1.1"
ROTTERDAM = "/rotterdam/sta/v1.1"
INVALID = sorted((profiles.get(PROFILE).path / "examples" / "invalid").glob("*.json"))


@pytest.fixture(scope="module")
def synced(loop_thread: LoopThread, demo_app: Any) -> Any:
    loop_thread.run(wait_for_profiled(demo_app, (HAMBURG, ROTTERDAM), PROFILE))
    return demo_app


def run_profile(lt: LoopThread, app: Any, root: str = HAMBURG) -> Any:
    return _run(lt, app, root, profile=PROFILE)


@pytest.mark.parametrize("root", [HAMBURG, ROTTERDAM, "/sta/v1.1"])
def test_the_demo_conforms_to_water_level(loop_thread: LoopThread, synced: Any, root: str):
    report = run_profile(loop_thread, synced, root)
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert passed == RULES, explain(report)


def test_the_federated_root_unites_both_cities_in_one_definition_and_unit(
    loop_thread: LoopThread, synced: Any
):
    streams = loop_thread.run(federated(synced, PROFILE))
    levels = [s for s in streams if s["ObservedProperty"]["name"] == "Water level"]
    tenants = {str(s["@iot.id"]).split(":")[0] for s in levels}
    assert tenants == {"hamburg", "rotterdam"}  # a REST API in cm, a broker in m
    assert {s["unitOfMeasurement"]["symbol"] for s in levels} == {"cm"}
    assert len({s["ObservedProperty"]["definition"] for s in levels}) == 1


def _first(suffix: str, mutate: Mutation) -> Callable[[Any, B.Scope], Any]:
    return first(PROFILE, suffix, mutate)


CASES: list[tuple[str, str, str, Mutation, set[str]]] = [
    (
        "level in m",
        ROTTERDAM,
        "height",
        _set("unitOfMeasurement.definition", "http://unitsofmeasure.org/ucum.html#m"),
        {"sta-profile/unit"},
    ),
    ("level as text", HAMBURG, "water_level", _results(str), {"sta-profile/results"}),
    ("level out of range", HAMBURG, "water_level", _results(99999.0), {"sta-profile/results"}),
    (
        "gauge without stationId",
        HAMBURG,
        "water_level",
        _drop("Thing.properties.stationId"),
        {"sta-profile/required-properties"},
    ),
    (
        "discharge defined by Smart Data Models",
        ROTTERDAM,
        "flow",
        _set(
            "ObservedProperty.definition",
            "https://smartdatamodels.org/dataModel.Environment/flow",
        ),
        {"sta-profile/observed-property"},
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
    broken = B.rewrite_json(
        synced, B.on_path(rf"{HAMBURG}/Datastreams$"), _first("water_level", as_example(path))
    )
    report = run_profile(loop_thread, broken, HAMBURG)
    assert "sta-profile/schema" in flagged(report), explain(report)
