"""Run schemathesis (all phases, all default checks) over one OpenAPI document of an app in
process, deterministically, and say what it found.

A few rules cannot be written in JSON Schema (a grammar, one value compared with another);
each facade's test names them as `Tolerated` rules, and a failure is dropped only when the
server's own error message shows it is exactly that rule. Everything else fails the test.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

SEED = 20261206


@dataclass(frozen=True)
class Tolerated:
    """A failure the document cannot prevent: schemathesis `code` (ST201 accepted negative
    data, ST202 rejected positive data, ...), the answer's status, and a pattern the
    server's error message must match (or schemathesis' own, `failure`; or `when` looks at
    the case)."""

    name: str
    code: str
    status: int
    message: str = ""
    failure: str = ""
    when: Callable[[Any], bool] | None = None

    def matches(self, failure: Any, status: int, message: str, case: Any) -> bool:
        if failure.code != self.code or status != self.status:
            return False
        if self.when is not None and not self.when(case):
            return False
        if self.failure and not re.search(self.failure, failure.message):
            return False
        return re.search(self.message, message) is not None


@dataclass
class Outcome:
    cases: int = 0
    checks: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_errors: int = 0
    tolerated: Counter[str] = field(default_factory=Counter)

    def summary(self, label: str) -> str:
        dropped = ", ".join(f"{n} {name}" for name, n in sorted(self.tolerated.items()))
        return (
            f"schemathesis {label}: {self.cases} cases, {self.server_errors} 5xx, "
            f"{len(self.failures)} failures, {len(self.errors)} errors"
            + (f" (tolerated by rule: {dropped})" if dropped else "")
        )


class Borrowed:
    """The app without its lifespan: schemathesis enters and leaves one per run, and the
    shutdown would close the stores of the session's shared demo app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


def _message(response: Any, client: TestClient) -> str:
    """The error message of an answer (for HEAD, of the same request as GET)."""
    request = response.request
    content = response.content
    if request.method == "HEAD":
        content = client.get(str(request.url), headers={"accept": "application/json"}).content
    text = content.decode("utf-8", "replace")
    match = re.search(r'"(?:description|message)":\s*"((?:[^"\\]|\\.)*)"', text)
    return match.group(1) if match else text[:300]


def run(
    app: Any,
    api_path: str,
    *,
    max_examples: int,
    tolerated: tuple[Tolerated, ...] = (),
    config: dict[str, Any] | None = None,
    include: dict[str, Any] | None = None,
) -> Outcome:
    settings = {
        "seed": SEED,
        "workers": 1,
        "generation": {"max-examples": max_examples, "deterministic": True},
        **(config or {}),
    }
    app = Borrowed(app)
    schema = schemathesis.openapi.from_asgi(
        api_path, app, config=schemathesis.Config.from_dict(settings)
    )
    if include:
        schema = schema.include(**include)
    outcome = Outcome()
    client = TestClient(app)

    @schema.hook("filter_failure")
    def keep(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
        message = _message(response, client)
        for rule in tolerated:
            if rule.matches(failure, response.status_code, message, case):
                outcome.tolerated[rule.name] += 1
                return False
        return True

    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record(event.recorder, outcome)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            outcome.errors.append(str(getattr(event, "value", None) or event.exception))
    return outcome


def _record(recorder: Any, outcome: Outcome) -> None:
    outcome.cases += len(recorder.cases)
    outcome.server_errors += sum(
        1
        for interaction in recorder.interactions.values()
        if interaction.response is not None and interaction.response.status_code >= 500
    )
    for case_id, checks in recorder.checks.items():
        for check in checks:
            outcome.checks.add(check.name)
            if check.failure_info is None:
                continue
            case = recorder.cases[case_id].value
            interaction = recorder.interactions.get(case_id)
            answer = b""
            if interaction is not None and interaction.response is not None:
                answer = interaction.response.content[:300]
            outcome.failures.append(
                f"{recorder.label}: {check.failure_info.failure.title}\n"
                f"  {case.method} {case.formatted_path} query={case.query} body={case.body!r}"
                f"\n  -> {answer!r}"
            )
