"""A real headless browser: Debian's Chromium driven by Playwright (browser downloads do not
work here, so Playwright launches /usr/bin/chromium). `page` fails its test on any console
error, uncaught exception or failed request, and saves a screenshot of what the test saw
under tests/browser/screenshots/ (not committed)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing_service

SCREENSHOTS = Path(__file__).parent / "screenshots"
WEB = Path(__file__).resolve().parents[2] / "web"


def node_modules() -> Path:
    """The npm packages scripts/setup-web.sh installs."""
    folder = WEB / "node_modules"
    if not (folder / ".lock-installed").exists():
        missing_service("the npm packages are not installed (run scripts/setup-web.sh)")
    return folder


@pytest.fixture(scope="module")  # not session: its running loop would break asyncio.run
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        missing_service("chromium is not installed (run scripts/setup-web.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Problems(list[str]):
    """What went wrong in the page, collected from the browser's events."""

    def watch(self, page: Any) -> None:
        page.on(
            "console",
            lambda m: self.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.append(f"failed: {r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: self.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
        )


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems = Problems()
    problems.watch(page)
    page.problems = problems
    try:
        yield page
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"))
        assert not problems, "\n".join(problems)
    finally:
        context.close()
