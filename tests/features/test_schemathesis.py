"""schemathesis over the OGC API – Features documents of the demo (federated root and every
tenant), in process: all phases and all default checks, no 5xx and no failed check. So the
document describes what the server accepts and answers, in both directions.

Run time on 2 cores: see the line each test prints (cases per document and seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.responses import JSONResponse
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.schemathesis_run import Tolerated, run

MAX_EXAMPLES = 25


def limit_above(maximum: int) -> Callable[[Any], bool]:
    def above(case: Any) -> bool:
        try:
            return int(case.query.get("limit")) > maximum
        except (TypeError, ValueError):
            return False

    return above


def html_form_with_empty_fields(case: Any) -> bool:
    """The items page's GET form sends every field, the empty ones too: with f=html an empty
    value means "any" (gateway/features/routes.py), which one parameter's schema cannot say
    about another's."""
    query = case.query or {}
    empty = any(v in ("", None, {}, []) for v in query.values())
    return query.get("f") == "html" and empty


def tolerated(max_limit: int) -> tuple[Tolerated, ...]:
    """What JSON Schema cannot say; the parameter descriptions in the document say it."""
    return (
        Tolerated("CQL2 grammar of filter", "ST202", 400, r"^filter: "),
        Tolerated("interval ends before it starts", "ST202", 400, r"^datetime: the interval ends"),
        Tolerated(
            "bbox ranges (CRS84, or the area of bbox-crs) and corner order",
            "ST202",
            400,
            r"^bbox: (longitudes must|latitudes must|the lower (latitude|corner)|the box lies out)",
        ),
        Tolerated("sort key given with + and -", "ST202", 400, r"^sortby: '[^']+' is given twice"),
        Tolerated(
            "properties and exclude-properties exclude each other",
            "ST202",
            400,
            r"^exclude-properties: give either properties or exclude-properties, not both",
        ),
        Tolerated(
            "the HTML page's form sends its empty fields (f=html)",
            "ST201",
            200,
            when=html_form_with_empty_fields,
        ),
        Tolerated(
            "limit above the maximum is clamped (OGC API – Features)",
            "ST201",
            200,
            when=limit_above(max_limit),
        ),
    )


@pytest.mark.parametrize("root", ["", "/hamburg", "/leipzig", "/muenchen"])
def test_the_features_documents_describe_the_server(
    demo_client: TestClient, root: str, capsys: pytest.CaptureFixture[str]
):
    started = time.monotonic()
    app = demo_client.app
    rules = tolerated(app.state.catalog.settings.max_limit)
    outcome = run(app, f"{root}/api", max_examples=MAX_EXAMPLES, tolerated=rules)
    with capsys.disabled():
        seconds = time.monotonic() - started
        print(f"\n{outcome.summary(root + '/api')} in {seconds:.0f} s")
    assert outcome.cases > 500
    assert {"not_a_server_error", "positive_data_acceptance", "negative_data_rejection"} <= (
        outcome.checks
    )
    assert not outcome.errors, outcome.errors
    assert outcome.server_errors == 0
    assert not outcome.failures, "\n".join(outcome.failures[:20])


class Broken:
    """The demo with one defect: `/collections` answers 500, or `limit` above 5 is refused
    although the document allows it. The schemathesis run must catch each."""

    def __init__(self, app: ASGIApp, defect: str) -> None:
        self.app, self.defect = app, defect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = dict(parse_qsl(scope["query_string"].decode()))
            if self.defect == "500" and scope["path"] == "/collections":
                await JSONResponse({"code": "ServerError"}, 500)(scope, receive, send)
                return
            limit = query.get("limit", "")
            if self.defect == "limit" and limit.isdigit() and int(limit) > 5:
                body = {"code": "InvalidParameterValue", "description": "limit: too large"}
                await JSONResponse(body, 400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


@pytest.mark.parametrize(
    ("defect", "path", "check"),
    [
        ("500", "^/collections$", "Server error"),
        ("limit", "^/collections/street-trees/items$", "Schema-valid request rejected"),
    ],
)
def test_a_broken_server_fails_the_run(demo_client: TestClient, defect: str, path: str, check):
    app = Broken(demo_client.app, defect)
    outcome = run(app, "/api", max_examples=5, include={"path_regex": path})
    assert any(check in failure for failure in outcome.failures), outcome.failures
