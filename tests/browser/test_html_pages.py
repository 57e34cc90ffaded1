"""The gateway's own HTML pages in a real browser: they load with no console error."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/", "/collections", "/hamburg/collections/strassenbaeume/items"])
def test_page_loads_without_console_errors(page: Any, live_demo: str, path: str) -> None:
    page.goto(f"{live_demo}{path}?f=html")
    assert page.locator("main").count() == 1
