"""The runner never hangs: a per-request timeout, a total time budget, bounded
concurrency; and a check that crashes is an error, not the end of the run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from conformance.model import Status
from tests.conformance.conftest import LoopThread, run_suite


def _slow(app: Any, path: str, seconds: float) -> Any:
    async def wrapped(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == path:
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapped


def test_a_request_that_never_answers_times_out(loop_thread: LoopThread, fake_features_app: Any):
    started = time.perf_counter()
    report = run_suite(
        loop_thread,
        _slow(fake_features_app, "/conformance", 3600),
        "http://fake/",
        timeout=0.5,
        budget=60,
    )
    assert time.perf_counter() - started < 30
    conformance = next(r for r in report.results if r.check == "core/conformance-op")
    assert conformance.status is Status.ERROR and "within 0.5 s" in conformance.message
    assert report.summary()["pass"] > 20  # the rest of the run went on


def test_the_time_budget_ends_the_run(loop_thread: LoopThread, fake_features_app: Any):
    started = time.perf_counter()
    report = run_suite(
        loop_thread,
        _slow(fake_features_app, "/collections/trees/items", 30),
        "http://fake/",
        timeout=60,
        budget=2,
    )
    took = time.perf_counter() - started
    assert took < 10, took
    budget_errors = [r for r in report.results if "time budget" in r.message]
    assert budget_errors and all(r.status is Status.ERROR for r in budget_errors)


def test_requests_in_flight_stay_within_the_concurrency(
    loop_thread: LoopThread, fake_features_app: Any
):
    state = {"now": 0, "most": 0}

    async def counting(scope: dict, receive: Any, send: Any) -> None:
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        try:
            await asyncio.sleep(0.001)
            await fake_features_app(scope, receive, send)
        finally:
            state["now"] -= 1

    run_suite(loop_thread, counting, "http://fake/", concurrency=3, checks=["core/"])
    assert 1 < state["most"] <= 3


def test_a_landing_page_that_is_not_json_fails_cleanly(loop_thread: LoopThread):
    async def garbage(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b"{not json"})

    report = run_suite(loop_thread, garbage, "http://fake/")
    statuses = {r.check: r.status for r in report.results}
    assert statuses["core/root-op"] is Status.PASS
    assert (
        statuses["core/root-success"] is Status.SKIP or statuses["core/root-success"] is Status.FAIL
    )
    assert not [r for r in report.results if r.status is Status.ERROR and "crashed" in r.message]
