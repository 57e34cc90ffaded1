"""The noise profile's conformance on the demo (--profile noise): Aarhus' monitors (NGSI-LD
NoiseLevelObserved, dB as unitCode 2N, history from the temporal API), München's monitors
(the city's own REST API through the `rest` sync: German field names, millisecond times,
"dB(A)") and the federated root pass every rule; a server broken in one way fails exactly
that rule (and the schema), and one serving an invalid example of the profile fails."""

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

PROFILE = "noise"
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
def test_the_demo_conforms_to_noise(loop_thread: LoopThread, synced: Any, root: str):
    report = run_profile(loop_thread, synced, root)
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert passed == RULES, explain(report)


def test_the_federated_root_unites_both_cities_in_one_definition_and_unit(
    loop_thread: LoopThread, synced: Any
):
    streams = loop_thread.run(federated(synced, PROFILE))
    for name in ("LAeq", "LAmax"):
        mine = [s for s in streams if s["ObservedProperty"]["name"] == name]
        assert {str(s["@iot.id"]).split(":")[0] for s in mine} == {"aarhus", "muenchen"}
        assert {s["unitOfMeasurement"]["symbol"] for s in mine} == {"dB"}
        assert len({s["ObservedProperty"]["definition"] for s in mine}) == 1


CASES: list[tuple[str, str, str, Mutation, set[str]]] = [
    (
        "LAeq in dB(A)",
        MUENCHEN,
        "laeq",
        _set("unitOfMeasurement.symbol", "dB(A)"),
        {"sta-profile/unit"},
    ),
    ("LAmax as text", AARHUS, "LAmax", _results(str), {"sta-profile/results"}),
    ("LAeq out of range", MUENCHEN, "laeq", _results(400.0), {"sta-profile/results"}),
    (
        "monitor without stationId",
        AARHUS,
        "LAS",
        _drop("Thing.properties.stationId"),
        {"sta-profile/required-properties"},
    ),
    (
        "LAeq defined by QUDT",
        AARHUS,
        "LAeq",
        _set(
            "ObservedProperty.definition", "http://qudt.org/vocab/quantitykind/SoundPressureLevel"
        ),
        {"sta-profile/observed-property"},
    ),
    (
        "older version",
        MUENCHEN,
        "lamax",
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


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_a_server_serving_an_invalid_example_fails(
    loop_thread: LoopThread, synced: Any, path: Path
):
    change = _first("laeq", as_example(path))
    broken = B.rewrite_json(synced, B.on_path(rf"{MUENCHEN}/Datastreams$"), change)
    report = run_profile(loop_thread, broken, MUENCHEN)
    assert "sta-profile/schema" in flagged(report), explain(report)
