"""The table of OGC's ETS tests (conformance/ets_coverage.yaml) cannot rot: every ETS test
is listed once, every rule it names is a registered check, and every such rule fails on
one of the broken servers the entry names (a case of a breaker table, by its name)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from conformance.ets import COVERAGE_FILE, load_coverage
from conformance.reports.coverage import render_markdown
from conformance.suites import load_all

# Test methods per ETS at the commits the table names (TestNG @Test methods).
TOTALS = {"ets-ogcapi-features10": 80, "ets-sta10": 22}


def shown_by(reference: str) -> set[str]:
    """The checks a breaker case ("module::case name") must flag."""
    module_name, _, case = reference.partition("::")
    module = importlib.import_module(f"tests.conformance.{module_name}")
    for table in ("CASES", "TYPE_CASES"):
        for row in getattr(module, table, []):
            if row[0] == case:
                expected = row[-1]
                return {expected} if isinstance(expected, str) else set(expected)
    raise AssertionError(f"{reference}: no such breaker case")


@pytest.fixture(scope="module")
def coverage() -> dict[str, Any]:
    return load_coverage()


def entries(coverage: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(test, e) for suite in coverage.values() for test, e in suite["tests"].items()]


def test_every_ets_test_is_listed_once(coverage: dict[str, Any]):
    # YAML keeps the last of two equal keys: count the keys in the text as well.
    text = COVERAGE_FILE.read_text(encoding="utf-8")
    for name, total in TOTALS.items():
        listed = coverage[name]["tests"]
        assert len(listed) == total, f"{name}: {len(listed)} tests listed, the ETS has {total}"
        for test in listed:
            assert text.count(f"    {test}:\n") == 1, f"{test} listed twice"


def test_each_entry_is_covered_or_says_why_not(coverage: dict[str, Any]):
    for test, e in entries(coverage):
        if "not_applicable" in e:
            assert e["not_applicable"].strip() and "rules" not in e, test
        else:
            assert e.get("rules") and e.get("failing"), f"{test}: rules and failing cases"


def test_every_rule_in_the_table_is_a_registered_check(coverage: dict[str, Any]):
    registered = {c.id for c in load_all()}
    for test, e in entries(coverage):
        unknown = set(e.get("rules", [])) - registered
        assert not unknown, f"{test} names checks that do not exist: {unknown}"


def test_every_rule_of_an_entry_fails_on_a_named_broken_server(coverage: dict[str, Any]):
    for test, e in entries(coverage):
        flagged: set[str] = set()
        for reference in e.get("failing", []):
            flagged |= shown_by(reference)
        missing = set(e.get("rules", [])) - flagged
        assert not missing, f"{test}: no named breaker case shows {missing} failing"


def test_the_coverage_page_is_generated_from_the_table():
    page = Path(__file__).parents[2] / "docs" / "conformance-coverage.md"
    assert page.read_text(encoding="utf-8") == render_markdown(), (
        "docs/conformance-coverage.md is stale: python -m conformance.reports.coverage > it"
    )


def test_results_name_the_ets_tests_of_their_check():
    from conformance.ets import ets_tests

    assert "features10:core.collections.Features#validateFeaturesResponse_NumberMatched" in (
        ets_tests("core/fc-numberMatched")
    )
    assert ets_tests("sta/navigation-paths") == (
        "sta10:sensingCore.Capability1Tests#checkResourcePaths",
    )
