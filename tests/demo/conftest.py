from __future__ import annotations

from pathlib import Path

import pytest

from gateway.demo.generate import generate


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the demo files (not the shared cache: these tests inspect bytes)."""
    folder = tmp_path_factory.mktemp("demo")
    generate(folder)
    return folder
