"""Figures of a SensorThings dataset: the tenant's Datastreams of the profile, read with
their Things, Locations and latest Observations into the data-quality computation, and
the count and newest phenomenonTime of their Observations. Read through the tenant's
guarded service, as a request would be, in the background."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from gateway.datacatalog.cells import Dataset
from gateway.datacatalog.config import CatalogSettings
from gateway.datacatalog.figures import now_iso
from gateway.quality.datastreams import DatastreamAccumulator
from gateway.quality.stareader import read
from gateway.sensorthings.encode import Links
from gateway.sensorthings.odata.options import parse_options
from gateway.sensorthings.paths import parse_path

PAGE = 100


class SensorThingsFigures:
    def __init__(self, facade: Any, settings: CatalogSettings) -> None:
        self.facade = facade
        self.settings = settings
        # told the ids of a dataset's Datastreams (the usage KPIs attribute by them)
        self.on_datastreams: Callable[[str, str, list[Any]], None] | None = None

    def _getter(self, tenant: str) -> Any:
        service = self.facade.guarded[tenant]
        links = Links(f"http://catalog.invalid/{tenant}/sta/v1.1")  # ids only, never shown

        async def get(path: str, options: list[tuple[str, str]]) -> Any:
            doc = await service.get(parse_path(path), parse_options(options), links)
            # As a client reads it: stored JSON (properties) is kept pre-encoded.
            return orjson.loads(orjson.dumps(doc))

        return get

    async def __call__(self, d: Dataset) -> dict[str, Any]:
        started = time.perf_counter()
        cfg = self.settings
        figures = DatastreamAccumulator(
            d.profile,
            window=cfg.observation_window,
            stale_seconds=cfg.stale_seconds,
            max_ids=cfg.max_ids,
        )
        state = await read(
            self._getter(d.tenant), d.profile, figures, page=PAGE, max_items=cfg.max_items
        )
        if self.on_datastreams is not None:
            self.on_datastreams(d.tenant, d.profile.id, state.ids)
        quality = figures.report()
        return {
            "status": "ok",
            "computedAt": now_iso(),
            "seconds": round(time.perf_counter() - started, 3),
            "count": state.observations,
            "datastreams": state.matched if state.matched is not None else state.datastreams,
            "sampled": not state.complete,
            "lastUpdate": state.newest.isoformat() if state.newest else None,
            "quality": quality,
        }
