"""SensorThings profile conformance (--profile air-quality against an STA root) on the demo:
Rotterdam (NGSI-v2), Aarhus (NGSI-LD) and the federated root pass every rule; Rotterdam
broken in one way per test fails exactly that rule (and the schema, which holds them all)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from conformance.cli import Suite as CliSuite
from conformance.cli import _suites, app
from conformance.model import Status
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, explain, flagged, run_suite, wait_for_profiled

SUITE = "sensorthings-profile"
ROTTERDAM = "/rotterdam/sta/v1.1"
RULES = {
    "sta-profile/observed-property",
    "sta-profile/unit",
    "sta-profile/observation-type",
    "sta-profile/results",
    "sta-profile/required-properties",
    "sta-profile/version",
    "sta-profile/schema",
}


@pytest.fixture(scope="module")
def synced(loop_thread: LoopThread, demo_app: Any) -> Any:
    loop_thread.run(wait_for_profiled(demo_app, (ROTTERDAM, "/aarhus/sta/v1.1"), "air-quality"))
    return demo_app


def run_profile(lt: LoopThread, app: Any, root: str = ROTTERDAM, profile: str = "air-quality"):
    return run_suite(lt, app, f"http://testserver{root}", suites=(SUITE,), profile=profile)


@pytest.mark.parametrize("root", [ROTTERDAM, "/aarhus/sta/v1.1", "/sta/v1.1"])
def test_the_demo_conforms_to_air_quality(loop_thread: LoopThread, synced: Any, root: str):
    """NGSI-v2 metadata.unitCode and NGSI-LD unitCode end in the same Datastreams, and the
    federated root unites them."""
    report = run_profile(loop_thread, synced, root)
    assert flagged(report) == set(), explain(report)
    passed = {r.check for r in report.results if r.status is Status.PASS}
    assert passed == RULES, explain(report)
    ids = {r.requirement.id for r in report.results}
    assert "profile:air-quality@1.0.0/unit" in ids


def test_a_root_without_the_profile_skips_with_the_reason(loop_thread: LoopThread, demo_app: Any):
    report = run_profile(loop_thread, demo_app, "/leipzig/sta/v1.1")
    assert {r.status for r in report.results} == {Status.SKIP}
    assert all("no Datastream of air-quality" in r.message for r in report.results)


def test_a_features_profile_is_not_checked_on_datastreams(loop_thread: LoopThread, synced: Any):
    report = run_profile(loop_thread, synced, profile="street-trees")
    assert {r.status for r in report.results} == {Status.SKIP}
    assert all("features profile" in r.message for r in report.results)


Mutation = Callable[[dict[str, Any]], None]


def _first_no2(mutate: Mutation) -> Callable[[Any, B.Scope], Any]:
    """Change the first NO2 Datastream of each page listing Datastreams."""

    def change(doc: Any, scope: B.Scope) -> Any:
        streams = doc.get("value", []) if isinstance(doc, dict) else []
        no2 = [s for s in streams if str(s.get("name", "")).endswith(" no2")]
        if no2:
            mutate(no2[0])
        return doc

    return change


def _set(path: str, value: Any) -> Mutation:
    *parents, last = path.split(".")

    def mutate(stream: dict[str, Any]) -> None:
        node = stream
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    *parents, last = path.split(".")

    def mutate(stream: dict[str, Any]) -> None:
        node = stream
        for key in parents:
            node = node[key]
        node.pop(last, None)

    return mutate


def _results(value: Any) -> Mutation:
    def mutate(stream: dict[str, Any]) -> None:
        for o in stream.get("Observations", []):
            o["result"] = value if not callable(value) else value(o["result"])

    return mutate


CASES: list[tuple[str, Mutation, set[str]]] = [
    ("unit symbol not UCUM", _set("unitOfMeasurement.symbol", "µg/m³"), {"sta-profile/unit"}),
    (
        "unit ppb",
        _set(
            "unitOfMeasurement",
            {
                "name": "ppb",
                "symbol": "[ppb]",
                "definition": "http://unitsofmeasure.org/ucum.html#[ppb]",
            },
        ),
        {"sta-profile/unit"},
    ),
    (
        "definition URI of Smart Data Models",
        _set(
            "ObservedProperty.definition", "https://smartdatamodels.org/dataModel.Environment/no2"
        ),
        {"sta-profile/observed-property"},
    ),
    (
        "ObservedProperty renamed",
        _set("ObservedProperty.name", "Nitrogen dioxide"),
        {"sta-profile/observed-property"},
    ),
    (
        "category observationType for numbers",
        _set(
            "observationType",
            "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation",
        ),
        {"sta-profile/observation-type"},
    ),
    ("results as strings", _results(str), {"sta-profile/results"}),
    ("results out of range", _results(-12.5), {"sta-profile/results"}),
    (
        "Thing without stationId",
        _drop("Thing.properties.stationId"),
        {"sta-profile/required-properties"},
    ),
    (
        "Datastream without profile",
        _drop("properties.profile"),
        {"sta-profile/required-properties"},
    ),
    ("older profile version", _set("properties.profileVersion", "0.9.0"), {"sta-profile/version"}),
]


@pytest.mark.parametrize(("name", "mutate", "rules"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_fails_on_its_broken_server(
    loop_thread: LoopThread, synced: Any, name: str, mutate: Mutation, rules: set[str]
):
    broken = B.rewrite_json(synced, B.on_path(rf"{ROTTERDAM}/Datastreams$"), _first_no2(mutate))
    report = run_profile(loop_thread, broken)
    assert flagged(report) == {*rules, "sta-profile/schema"}, f"{name}:\n{explain(report)}"
    failed = next(r for r in report.results if r.check in rules)
    assert "no2" in failed.message.lower(), failed.message


def _strings(doc: Any, scope: B.Scope) -> Any:
    for o in doc.get("value", []) if isinstance(doc, dict) else []:
        o["result"] = str(o.get("result"))
    return doc


def test_results_are_read_when_the_server_ignores_the_nested_expand(
    loop_thread: LoopThread, synced: Any
):
    """Without expanded Observations the suite reads each Datastream's latest ones: the
    schema has nothing to say about them, the results rule still catches strings."""

    def no_observations(stream: dict[str, Any]) -> None:
        stream.pop("Observations", None)

    streams = B.rewrite_json(
        synced, B.on_path(rf"{ROTTERDAM}/Datastreams$"), _first_no2(no_observations)
    )
    broken = B.rewrite_json(streams, B.on_path(r"/Datastreams\(\d+\)/Observations$"), _strings)
    report = run_profile(loop_thread, broken)
    assert flagged(report) == {"sta-profile/results"}, explain(report)


def _nested_expand(scope: B.Scope) -> bool:
    query = unquote(scope.get("query_string", b"").decode())
    return scope["path"].endswith("/Datastreams") and "Observations(" in query


def test_a_server_refusing_nested_expand_options_is_checked_all_the_same(
    loop_thread: LoopThread, synced: Any
):
    """A 400 for `Observations($orderby…;$top…)` inside $expand is no reason to skip: the
    suite expands the rest and reads each Datastream's latest Observations."""
    report = run_profile(loop_thread, B.set_status(synced, _nested_expand, 400))
    assert flagged(report) == set(), explain(report)
    results = next(r for r in report.results if r.check == "sta-profile/results")
    assert results.status is Status.PASS and "latest results of the right type" in results.message
    read = [e.url for e in results.evidence if "/Observations" in e.url.split("?")[0]]
    assert len(read) == 50  # each Rotterdam Datastream's own
    assert any(e.status == 400 for e in results.evidence)  # the refused nested expand


def test_the_cli_picks_the_suite_by_the_profiles_kind():
    assert _suites(CliSuite.sensorthings, "air-quality") == ["sensorthings", SUITE]
    assert _suites(CliSuite.features, "street-trees") == ["features", "profile"]
    # without --suite, a SensorThings profile checks a SensorThings service
    assert _suites(None, "noise") == ["sensorthings", SUITE]
    assert _suites(None, "street-trees") == ["features", "profile"]
    assert _suites(None, None) == ["features"]
    listed = CliRunner().invoke(app, ["checks", "--suite", "all"])
    assert listed.exit_code == 0 and "sta-profile/unit" in listed.output
    refused = CliRunner().invoke(app, ["run", "http://127.0.0.1:9/", "--profile", "street-trees"])
    assert refused.exit_code == 2 and "--collection" in refused.output
