"""docs/conformance-coverage.md, rendered from conformance/ets_coverage.yaml: how many of
OGC's ETS tests the suite covers, which do not apply and where it differs from the ETS. It
sits with the reports, above the suites, because it reads the registry to tell which of the
covering checks write."""

from __future__ import annotations

from conformance.ets import ets_tests_by_rule, load_coverage
from conformance.suites import load_all


def render_markdown() -> str:
    """docs/conformance-coverage.md: the table's figures and its exceptions, so the doc
    is regenerated from the table and a test can tell when it is stale."""
    checks = {c.id: c for c in load_all()}
    lines = [
        "# Conformance suite: coverage of OGC's executable test suites",
        "",
        "Generated from `conformance/ets_coverage.yaml` by",
        "`python -m conformance.reports.coverage`; `tests/conformance/test_ets_coverage.py`",
        "fails when this page is stale, when a rule the table names is not a registered check,",
        "or when a rule is not shown failing on one of the broken servers the table names.",
        "Reports (JSON `ets`, an HTML tag) name the ETS tests each result covers.",
        "",
        "| ETS | commit | tests | covered | not applicable | of them writing |",
        "|---|---|---|---|---|---|",
    ]
    rest: list[str] = []
    for name, suite in load_coverage().items():
        tests = suite["tests"]
        skipped = {k: e for k, e in tests.items() if "not_applicable" in e}
        writing = [k for k, e in tests.items() if any(checks[r].writes for r in e.get("rules", []))]
        covered = len(tests) - len(skipped)
        lines.append(
            f"| [{name}]({suite['repository']}) | `{suite['commit'][:8]}` | {len(tests)} "
            f"| {covered} | {len(skipped)} | {len(writing)} (`--allow-writes`) |"
        )
        rules = sorted({r for e in tests.values() for r in e.get("rules", [])})
        rest += ["", f"## {name}", "", f"Scope: {_sentence(suite['scope'])}", ""]
        if "applies" in suite:
            rest += [f"Applies: {_sentence(suite['applies'])}", ""]
        rest += [f"{covered} of {len(tests)} tests covered by {len(rules)} checks.", ""]
        for test, e in skipped.items():
            rest.append(f"- not applicable: `{test}` — {e['not_applicable']}")
        notes = [(test, e["note"]) for test, e in tests.items() if "note" in e]
        if notes:
            rest += ["", "Where we differ from the ETS:", ""]
            rest += [f"- `{test}`: {note}" for test, note in notes]
    beyond = sorted(set(checks) - set(ets_tests_by_rule()))
    rest += [
        "",
        "## Beyond the ETS",
        "",
        f"{len(beyond)} checks cover no ETS test: stricter versions of ETS assertions (marked",
        "*beyond CITE* in reports), OGC API – Features Part 3, SensorThings MQTT, and profile",
        "conformance. `twinbridge conformance checks` lists them all.",
    ]
    return "\n".join(lines + rest) + "\n"


def _sentence(text: str) -> str:
    """The text with one full stop at its end (the table's texts may bring their own)."""
    return text.rstrip().rstrip(".") + "."


if __name__ == "__main__":
    print(render_markdown(), end="")
