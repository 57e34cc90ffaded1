"""The latest profile-conformance result of a Features dataset: the conformance suite's
profile checks (schema, queryables, sortables, code lists) run in the background against
this very application, in process (an ASGI transport: no socket, no URL from a request),
and summarised for the catalog."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.datacatalog.cells import Dataset
from gateway.datacatalog.config import CatalogSettings
from gateway.metrics import INTERNAL_KEY

HOST = "http://catalog.internal"  # the in-process target's name; never resolved


def internal(app: ASGIApp) -> ASGIApp:
    """`app` with every request marked as the gateway's own (not counted as traffic)."""

    async def marked(scope: Scope, receive: Receive, send: Send) -> None:
        scope[INTERNAL_KEY] = True
        await app(scope, receive, send)

    return marked


class ConformanceRuns:
    """Callable per dataset once `app` is set (at start-up, by the lifespan)."""

    def __init__(self, settings: CatalogSettings) -> None:
        self.settings = settings
        self.app: Any = None

    async def __call__(self, d: Dataset) -> dict[str, Any]:
        from conformance.context import Options
        from conformance.model import Status
        from conformance.runner import run

        options = Options(
            timeout=self.settings.conformance_budget_seconds,
            budget=self.settings.conformance_budget_seconds,
            concurrency=2,
            profile=d.profile.id,
            collection=d.collection,
            sample=self.settings.max_items or None,
        )
        report = await run(
            f"{HOST}/{d.tenant}/",
            suites=["profile"],
            options=options,
            transport=httpx.ASGITransport(app=internal(self.app)),
        )
        counts = report.summary()
        flagged = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
        return {
            "status": "passed" if report.ok else "failed",
            "ranAt": report.finished,
            "profile": {"id": d.profile.id, "version": d.profile.version},
            "counts": counts,
            "failures": [
                {"check": r.check, "status": r.status.value, "message": r.message[:300]}
                for r in flagged[:10]
            ],
        }
