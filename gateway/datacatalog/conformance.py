"""The latest profile-conformance result of a Features dataset: the conformance suite's
profile checks (schema, queryables, sortables, code lists) run in the background against
this very application, in process (an ASGI transport: no socket, no URL from a request),
and summarised for the catalog."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.datacatalog.cells import Dataset
from gateway.datacatalog.config import CatalogSettings

HOST = "http://catalog.internal"  # the in-process target's name; never resolved


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
            transport=httpx.ASGITransport(app=self.app),
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
