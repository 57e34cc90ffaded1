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
        self.refresher = Refresher(found, settings, compute)
        self.api = DataCatalog(loaded, found, self.refresher)
        self.enabled = settings.enabled

    def routes(self) -> list[Route]:
        return self.api.routes() if self.enabled else []

    def start(self) -> None:
        self.refresher.start()

    async def stop(self) -> None:
        await self.refresher.stop()
