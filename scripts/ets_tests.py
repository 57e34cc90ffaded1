"""List the TestNG tests of an ETS checkout and compare them with conformance/ets_coverage.yaml.

    python scripts/ets_tests.py ets-ogcapi-features10 ~/src/ets-ogcapi-features10

Prints the ETS tests the table lacks and the table's entries the ETS no longer has, so a new
ETS release is mapped test by test (exit status 1 when they differ)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conformance.ets import load_coverage

TEST = re.compile(
    r"@Test\b(?:\s*\((?:[^()]|\([^()]*\))*\))?\s*(?:@\w+(?:\([^)]*\))?\s*)*"
    r"public\s+\w+\s+(\w+)\s*\("
)


def ets_tests(checkout: Path) -> set[str]:
    """`package.Class#method` below the suite's root package, as the table names them."""
    found = set()
    for source in sorted(checkout.glob("src/main/java/**/*.java")):
        parts = source.relative_to(checkout / "src/main/java").with_suffix("").parts
        # org/opengis/cite/<suite>/[conformance/]<package...>/<Class>
        tail = parts[4:]
        if tail and tail[0] == "conformance":
            tail = tail[1:]
        for method in TEST.findall(source.read_text(encoding="utf-8")):
            found.add(f"{'.'.join(tail)}#{method}")
    return found


def main(name: str, checkout: str) -> int:
    listed = set(load_coverage()[name]["tests"])
    actual = ets_tests(Path(checkout).expanduser())
    for test in sorted(actual - listed):
        print(f"missing from the table: {test}")
    for test in sorted(listed - actual):
        print(f"no longer in the ETS:   {test}")
    print(f"{len(actual)} ETS tests, {len(listed)} in the table")
    return 0 if actual == listed else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
