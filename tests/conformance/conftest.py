"""Fixtures for the conformance suite's tests: one event loop per test session in a thread,
with the demo gateway opened once on it, so that the many runs against (broken) in-process
servers cost no start-up each."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from conformance.context import Options
from conformance.model import Report, Status
from conformance.runner import run

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running in a daemon thread; `run` waits for a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 300) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


@pytest.fixture(scope="session")
def demo_app(demo_dir: Path, loop_thread: LoopThread) -> Iterator[Any]:
    """The demo gateway, opened (lifespan) on the session loop."""
    from gateway.app import create_app
    from gateway.server import demo_config

    app = create_app(demo_config())
    lifespan = app.router.lifespan_context(app)
    loop_thread.run(lifespan.__aenter__())
    yield app
    loop_thread.run(lifespan.__aexit__(None, None, None))


async def wait_for_profiled(
    app: Any, roots: tuple[str, ...], profile: str, timeout: float = 120.0
) -> None:
    """Wait until each synchronised tenant holds Datastreams declaring `profile`."""
    params = {"$filter": f"properties/profile eq '{profile}'", "$top": "1"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            pages = [(await client.get(f"{r}/Datastreams", params=params)).json() for r in roots]
            if all(p.get("value") for p in pages):
                return
            await asyncio.sleep(0.5)
    raise AssertionError(f"{roots} declared no {profile} Datastream within {timeout} s")


@pytest.fixture(scope="session")
def fake_features_app() -> Any:
    from tests.conformance.fake_features import make_app

    return make_app()


PART1 = ["core/", "geojson/", "html/", "oas30/"]


@pytest.fixture(scope="session")
def baseline(loop_thread: LoopThread, demo_app: Any) -> set[str]:
    """Part 1 checks the unbroken demo already fails (gateway bugs, reported by the demo
    tests), left out when a broken variant is compared."""
    return flagged(run_suite(loop_thread, demo_app, checks=PART1))


def run_suite(
    lt: LoopThread,
    app: Any,
    target: str = "http://testserver/",
    suites: Sequence[str] = ("features",),
    checks: Sequence[str] | None = None,
    **options: Any,
) -> Report:
    """Run the suite in process against an ASGI app (wrapped or not)."""
    transport = httpx.ASGITransport(app=app)
    coro = run(
        target, suites=suites, options=Options(**options), transport=transport, check_ids=checks
    )
    return lt.run(coro)


def flagged(report: Report) -> set[str]:
    """The checks that failed or errored."""
    return {r.check for r in report.results if r.status in (Status.FAIL, Status.ERROR)}


def explain(report: Report) -> str:
    lines = [
        f"{r.status.value.upper()} {r.label}: {r.message[:300]}"
        for r in report.results
        if r.status in (Status.FAIL, Status.ERROR)
    ]
    return "\n".join(lines) or "nothing flagged"


def by_check(report: Report) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in report.results:
        out.setdefault(r.check, []).append(r)
    return out
