"""The data catalog as the application sees it: built once from the catalog and the
configuration, its refresher started and stopped by the app's lifespan, its routes."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from gateway.catalog import Catalog
from gateway.config import LoadedConfig
from gateway.datacatalog.cells import datasets
from gateway.datacatalog.refresher import Refresher
from gateway.datacatalog.routes import DataCatalog


class CatalogService:
    def __init__(self, catalog: Catalog, loaded: LoadedConfig, sensorthings: Any = None) -> None:
        settings = loaded.config.server.catalog
        found = datasets(catalog, loaded)
        compute = None
        if sensorthings is not None:
            from gateway.datacatalog.sta import SensorThingsFigures

            compute = SensorThingsFigures(sensorthings, settings)
        self.conformance = None
        if settings.conformance:
            from gateway.datacatalog.conformance import ConformanceRuns

            self.conformance = ConformanceRuns(settings)
        self.refresher = Refresher(found, settings, compute, self.conformance)
        self.api = DataCatalog(loaded, found, self.refresher)
        self.enabled = settings.enabled

    def routes(self) -> list[Route]:
        return self.api.routes() if self.enabled else []

    def start(self, app: Any) -> None:
        """Start computing; `app` is what the conformance runs ask, in process."""
        if self.conformance is not None:
            self.conformance.app = app
        self.refresher.start()

    async def stop(self) -> None:
        await self.refresher.stop()
