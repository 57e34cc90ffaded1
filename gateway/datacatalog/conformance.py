"""The latest profile-conformance result of a dataset: the conformance suite's profile
checks run in the background against this very application, in process (an ASGI
transport: no socket, no URL from a request), and summarised for the catalog. A Features
dataset gets the `profile` suite on its collection (schema, queryables, sortables, code
lists), a SensorThings one the `sensorthings-profile` suite on its tenant's service root
(ObservedProperties, units, observation types, results, required properties, schema)."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.datacatalog.cells import FEATURES, Dataset
from gateway.datacatalog.config import CatalogSettings
from gateway.datacatalog.documents import STA_VERSION
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

        if d.kind == FEATURES:
            target, suite = f"{d.tenant}/", "profile"
        else:
            target, suite = f"{d.tenant}/sta/{STA_VERSION}/", "sensorthings-profile"
        options = Options(
            timeout=self.settings.conformance_budget_seconds,
            budget=self.settings.conformance_budget_seconds,
            concurrency=2,
            profile=d.profile.id,
            collection=d.collection,
            sample=self.settings.max_items or None,
        )
        report = await run(
            f"{HOST}/{target}",
            suites=[suite],
            options=options,
            transport=httpx.ASGITransport(app=internal(self.app)),
        )
        counts = report.summary()
        flagged = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
        return {
            "status": "passed" if report.ok else "failed",
            "ranAt": report.finished,
            "suite": suite,
            "target": target,  # below the catalog's root: where the checks were run
            "profile": {"id": d.profile.id, "version": d.profile.version},
            "counts": counts,
            "failures": [
                {"check": r.check, "status": r.status.value, "message": r.message[:300]}
                for r in flagged[:10]
            ],
        }
