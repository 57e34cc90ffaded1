"""The background task that fills the catalog's cache: every dataset's figures, computed
one after the other (a few at once), then again after `refresh_seconds`. Requests only
read `figures`; a dataset not computed yet is absent there, which the documents show as
'pending'. A dataset that fails keeps its previous figures, marked with the failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.datacatalog import gauges
from gateway.datacatalog.cells import FEATURES, Dataset
from gateway.datacatalog.config import CatalogSettings
from gateway.datacatalog.figures import features_figures, now_iso
from gateway.errors import GatewayError

log = logging.getLogger("twinbridge.catalog")
Compute = Callable[[Dataset], Awaitable[dict[str, Any]]]


class Refresher:
    def __init__(
        self,
        datasets: list[Dataset],
        settings: CatalogSettings,
        sensorthings: Compute | None = None,
        conformance: Compute | None = None,
    ) -> None:
        self.datasets = datasets
        self.settings = settings
        self.sensorthings = sensorthings
        self.conformance = conformance
        self.figures: dict[str, dict[str, Any]] = {}
        self.version = 0  # changes whenever what /catalog shows changes
        self._checked: dict[str, float] = {}  # dataset -> when its conformance last ran
        self.rounds = 0
        self.last_round: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.enabled and self.datasets and self._task is None:
            self._task = asyncio.create_task(self._run(), name="catalog-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await asyncio.sleep(self.settings.first_delay_seconds)
        while True:
            await self.refresh()
            await asyncio.sleep(self.settings.refresh_seconds)

    async def refresh(self) -> None:
        """Compute every dataset once (also what tests and the benchmark call)."""
        slots = asyncio.Semaphore(self.settings.concurrency)

        async def one(dataset: Dataset) -> None:
            async with slots:
                await self._compute(dataset)

        await asyncio.gather(*(one(d) for d in self.datasets))
        self.rounds += 1
        self.last_round = now_iso()
        self.version += 1

    async def _compute(self, dataset: Dataset) -> None:
        try:
            if dataset.kind == FEATURES:
                assert dataset.source is not None
                figures = await features_figures(dataset.source, self.settings)
                figures["conformance"] = await self._conformance(dataset)
            elif self.sensorthings is not None:
                figures = await self.sensorthings(dataset)
                figures["conformance"] = await self._conformance(dataset)
            else:
                return
        except asyncio.CancelledError:
            raise
        except GatewayError as e:
            figures = self._failed(dataset, e.description)
        except Exception as e:  # one broken dataset must not stop the others
            log.exception("catalog: figures of %s failed", dataset.key)
            figures = self._failed(dataset, f"{type(e).__name__}")
        self.figures[dataset.key] = figures
        self.version += 1
        labels = (dataset.tenant, dataset.profile.id, dataset.key)
        gauges.publish(labels, figures, time.time())

    async def _conformance(self, dataset: Dataset) -> dict[str, Any]:
        """The profile-conformance result, run again when the kept one is due; a run that
        cannot finish says why."""
        if self.conformance is None:
            return {"status": "not-run"}
        kept = (self.figures.get(dataset.key) or {}).get("conformance")
        ran = self._checked.get(dataset.key)
        due = self.settings.conformance_refresh_seconds
        if kept and ran is not None and time.monotonic() - ran < due:
            return kept
        self._checked[dataset.key] = time.monotonic()
        try:
            return await self.conformance(dataset)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("catalog: conformance run of %s failed", dataset.key)
            return {"status": "error", "ranAt": now_iso(), "error": type(e).__name__}

    def _failed(self, dataset: Dataset, why: str) -> dict[str, Any]:
        """The failure, beside the last good figures (still the best known)."""
        previous = self.figures.get(dataset.key, {})
        kept = previous.get("previous") if previous.get("status") == "failed" else previous
        return {"status": "failed", "failedAt": now_iso(), "error": why, "previous": kept or None}
