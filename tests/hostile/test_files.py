"""The hostile-input corpus over file sources: the demo's three cities (GeoJSON, CSV,
GeoPackage) on the federated root and per tenant, and their embedded SensorThings stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.server import demo_config
from tests.hostile.corpus import Case
from tests.hostile.targets import FILES, Target, corpus, params, target

CASES = corpus(FILES)


@pytest.fixture(scope="module")
def files(demo_dir: Path) -> Iterator[Target]:
    with target("files", create_app(demo_config())) as found:
        yield found


@pytest.mark.parametrize("case", params(CASES))
def test_files(files: Target, case: Case) -> None:
    files.run(case)
