"""Which of OGC's executable test suite (ETS) tests each check covers, read from
ets_coverage.yaml: the reports name them next to a result, so a reader who knows the CITE
report finds the same test here. The table is kept honest by tests/conformance/
test_ets_coverage.py; this module only reads it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

COVERAGE_FILE = Path(__file__).with_name("ets_coverage.yaml")
SHORT = {"ets-ogcapi-features10": "features10", "ets-sta10": "sta10"}


@cache
def load_coverage() -> dict[str, Any]:
    """The table: ETS name -> {repository, commit, ..., tests: {class#method: entry}}."""
    with COVERAGE_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@cache
def ets_tests_by_rule() -> dict[str, tuple[str, ...]]:
    """Check id -> the ETS tests it covers, as "features10:core.collections.Features#…"."""
    found: dict[str, list[str]] = {}
    for name, suite in load_coverage().items():
        for test, entry in suite["tests"].items():
            for rule in entry.get("rules", []):
                found.setdefault(rule, []).append(f"{SHORT.get(name, name)}:{test}")
    return {rule: tuple(tests) for rule, tests in found.items()}


def ets_tests(check_id: str) -> tuple[str, ...]:
    return ets_tests_by_rule().get(check_id, ())
