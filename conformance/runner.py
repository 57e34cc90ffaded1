"""Run checks against a target: bounded concurrency, a per-request timeout, a time budget.

    report = await run("http://127.0.0.1:8000/", suites=["features"])
    report = await run("http://test/", transport=httpx.ASGITransport(app=app))

The run has two phases, both inside the budget: planning (what the server declares and
which collections to test, per suite) and execution (every check for every subject, all
at once; the session's semaphore bounds the requests in flight). Whatever has not finished
when the budget is spent is cancelled and reported as an error, so a run never hangs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx

from conformance.context import HOOKS, Check, Context, Options, Test
from conformance.ets import ets_tests
from conformance.http import USER_AGENT, RequestError, Session
from conformance.model import CheckFailed, CheckSkipped, Report, Result, Status
from conformance.registry import class_label
from conformance.suites import load_all


class Listener(Protocol):
    def planned(self, total: int) -> None: ...
    def result(self, result: Result) -> None: ...


@dataclass
class Plan:
    declared: set[str] | None
    declared_error: str | None
    subjects: list[str] | None
    subjects_error: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _result(t: Test, status: Status, message: str, started: float) -> Result:
    c = t.check
    return Result(
        check=c.id,
        title=c.title,
        requirement=t.requirement,
        status=status,
        message=message,
        evidence=t.http.evidence,
        subject=t.subject,
        beyond_cite=c.beyond_cite,
        ets=ets_tests(c.id),
        duration_ms=(time.perf_counter() - started) * 1000,
    )


async def execute(t: Test) -> Result:
    """Run one check for one subject; every outcome becomes a Result."""
    started = time.perf_counter()
    try:
        message = await t.check.func(t)
    except CheckFailed as e:
        return _result(t, Status.FAIL, str(e), started)
    except CheckSkipped as e:
        return _result(t, Status.SKIP, str(e), started)
    except RequestError as e:
        return _result(t, Status.ERROR, str(e), started)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # a bug in a check must not end the run
        return _result(t, Status.ERROR, f"check crashed: {type(e).__name__}: {e}", started)
    return _result(t, Status.PASS, message or "ok", started)


async def _plan(ctx: Context, suite: str, probe_check: Check) -> Plan:
    hooks = HOOKS[suite]
    t = Test(ctx, probe_check)
    declared = subjects = None
    declared_error = subjects_error = None
    try:
        declared = await hooks.declared(t)
    except (CheckFailed, CheckSkipped, RequestError) as e:
        declared_error = str(e)
    try:
        subjects = await hooks.subjects(t)
    except (CheckFailed, CheckSkipped, RequestError) as e:
        subjects_error = str(e)
    return Plan(declared, declared_error, subjects, subjects_error)


def _unmet(check: Check, plan: Plan) -> str | None:
    """Why a check's conformance-class precondition is not met, or None."""
    if not check.needs and not check.needs_any:
        return None
    if plan.declared is None:
        return f"not tested: the declared conformance classes are unknown ({plan.declared_error})"
    matches = HOOKS[check.suite].matches
    missing = [u for u in check.needs if not matches(u, plan.declared)]
    if missing:
        return "the server does not declare " + ", ".join(class_label(u) for u in missing)
    if check.needs_any and not any(matches(u, plan.declared) for u in check.needs_any):
        return "the server declares none of " + ", ".join(class_label(u) for u in check.needs_any)
    return None


def _executions(ctx: Context, checks: list[Check], plans: dict[str, Plan]) -> list[Test]:
    tests: list[Test] = []
    for c in checks:
        plan = plans[c.suite]
        if not c.per_collection:
            tests.append(Test(ctx, c))
        elif plan.subjects is None:
            tests.append(Test(ctx, c))  # reported as blocked below
        else:
            tests.extend(Test(ctx, c, s) for s in plan.subjects)
    return tests


async def _gather(
    tests: list[Test], plans: dict[str, Plan], deadline: float, listener: Listener | None
) -> list[Result]:
    """Run every test (read-only ones first, then those that write), within the deadline."""
    results: dict[int, Result] = {}

    def done(i: int, r: Result) -> None:
        results[i] = r
        if listener:
            listener.result(r)

    runnable: list[int] = []
    for i, t in enumerate(tests):
        plan = plans[t.check.suite]
        reason = _unmet(t.check, plan)
        if reason is None and t.check.per_collection and plan.subjects is None:
            reason = f"not tested: no collections to test ({plan.subjects_error})"
        if reason is not None:
            done(i, _result(t, Status.SKIP, reason, time.perf_counter()))
        else:
            runnable.append(i)
    for writes in (False, True):
        group = [i for i in runnable if tests[i].check.writes == writes]
        await _run_group(tests, group, deadline, done)
    return [results[i] for i in range(len(tests))]


async def _run_group(
    tests: list[Test], group: list[int], deadline: float, done: Callable[[int, Result], None]
) -> None:
    tasks = {asyncio.ensure_future(execute(tests[i])): i for i in group}
    pending = set(tasks)
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        finished, pending = await asyncio.wait(
            pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
        )
        for task in finished:
            done(tasks[task], task.result())
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in pending:
        t = tests[tasks[task]]
        msg = "not finished within the run's time budget"
        done(tasks[task], _result(t, Status.ERROR, msg, time.perf_counter()))


def _selected(check_id: str, wanted: Sequence[str] | None) -> bool:
    """No selection means all; a selection names check ids or prefixes ending in "/"."""
    if not wanted:
        return True
    return any(check_id == w or (w.endswith("/") and check_id.startswith(w)) for w in wanted)


async def run(
    target: str,
    *,
    suites: Sequence[str] = ("features",),
    options: Options | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    listener: Listener | None = None,
    check_ids: Sequence[str] | None = None,
) -> Report:
    """Run the given suites against `target` and return the report (`check_ids`: only
    these checks, e.g. ["core/", "geojson/fc-op"])."""
    options = options or Options()
    registry = load_all()
    checks = [c for c in registry.for_suites(list(suites)) if _selected(c.id, check_ids)]
    started_wall, started = _now(), time.perf_counter()
    deadline = time.monotonic() + options.budget
    async with httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT, **(options.headers or {})},
        timeout=httpx.Timeout(options.timeout),
    ) as client:
        session = Session(client, concurrency=options.concurrency, timeout=options.timeout)
        ctx = Context(target, session, options)
        used = sorted({c.suite for c in checks})
        first = {s: next(c for c in checks if c.suite == s) for s in used}
        plans = await _plan_all(ctx, first, deadline)
        tests = _executions(ctx, checks, plans)
        if listener:
            listener.planned(len(tests))
        try:
            results = await _gather(tests, plans, deadline, listener)
        finally:
            await _cleanup(ctx)
            await session.close()
    declared = sorted(set().union(*(p.declared or set() for p in plans.values())))
    return Report(
        target=target,
        started=started_wall,
        finished=_now(),
        suites=list(suites),
        results=results,
        declared=declared,
        options=options.public(),
        duration_s=time.perf_counter() - started,
    )


async def _cleanup(ctx: Context) -> None:
    """Undo what checks wrote (SensorThings --allow-writes), newest first, briefly."""
    for undo in reversed(ctx.cleanups):
        try:
            async with asyncio.timeout(ctx.options.timeout):
                await undo()
        except Exception:  # best effort: the report is already complete
            continue


async def _plan_all(ctx: Context, first: dict[str, Check], deadline: float) -> dict[str, Plan]:
    async def one(suite: str) -> Plan:
        return await _plan(ctx, suite, first[suite])

    tasks = {s: asyncio.ensure_future(one(s)) for s in first}
    remaining = max(deadline - time.monotonic(), 0.001)
    await asyncio.wait(tasks.values(), timeout=remaining)
    plans: dict[str, Plan] = {}
    for suite, task in tasks.items():
        if task.done():
            plans[suite] = task.result()
        else:
            task.cancel()
            msg = "planning did not finish within the time budget"
            plans[suite] = Plan(None, msg, None, msg)
    return plans
