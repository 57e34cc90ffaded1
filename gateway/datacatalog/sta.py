"""Figures of a SensorThings dataset: the tenant's Datastreams that declare the profile
(`properties.profile`), their Observations, the newest phenomenonTime, and the share of
those Datastreams (Thing, ObservedProperty and Sensor expanded) valid against the
profile's schema. Read through the tenant's guarded service, as a request would be."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from gateway.datacatalog.cells import Dataset
from gateway.datacatalog.config import CatalogSettings
from gateway.datacatalog.figures import now_iso
from gateway.quality.accumulator import parse_instant
from gateway.sensorthings.encode import Links
from gateway.sensorthings.odata.options import parse_options
from gateway.sensorthings.paths import parse_path

PAGE = 100


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class SensorThingsFigures:
    def __init__(self, facade: Any, settings: CatalogSettings) -> None:
        self.facade = facade
        self.settings = settings
        # told the ids of a dataset's Datastreams (the usage KPIs attribute by them)
        self.on_datastreams: Callable[[str, str, list[Any]], None] | None = None

    async def _get(self, tenant: str, path: str, options: list[tuple[str, str]]) -> Any:
        service = self.facade.guarded[tenant]
        links = Links(f"http://catalog.invalid/{tenant}/sta/v1.1")  # ids only, never shown
        doc = await service.get(parse_path(path), parse_options(options), links)
        # As a client reads it: stored JSON (properties) is kept pre-encoded as a Fragment.
        return orjson.loads(orjson.dumps(doc))

    async def __call__(self, d: Dataset) -> dict[str, Any]:
        started = time.perf_counter()
        owned = f"properties/profile eq {_literal(d.profile.id)}"
        streams, valid, seen = 0, 0, 0
        examples: list[dict[str, Any]] = []
        ids: list[Any] = []
        while True:
            page = await self._get(
                d.tenant,
                "Datastreams",
                [
                    ("$filter", owned),
                    ("$count", "true"),
                    ("$expand", "Thing,ObservedProperty,Sensor"),
                    ("$top", str(PAGE)),
                    ("$skip", str(seen)),
                    ("$orderby", "id"),
                ],
            )
            streams = int(page.get("@iot.count") or 0)
            values = page.get("value") or []
            for doc in values:
                ids.append(doc.get("@iot.id"))
                if d.profile.validator.is_valid(doc):
                    valid += 1
                elif len(examples) < 5:
                    problem = d.profile.validate(doc)[0][:300]
                    examples.append({"id": doc.get("@iot.id"), "problem": problem})
            seen += len(values)
            limit = self.settings.max_items
            if not values or seen >= streams or (limit and seen >= limit):
                break
        if self.on_datastreams is not None:
            self.on_datastreams(d.tenant, d.profile.id, ids)
        observations = await self._get(
            d.tenant,
            "Observations",
            [
                ("$filter", f"Datastream/{owned}"),
                ("$count", "true"),
                ("$top", "1"),
                ("$orderby", "phenomenonTime desc"),
                ("$select", "phenomenonTime"),
            ],
        )
        newest = None
        latest = observations.get("value") or []
        if latest:
            text = str(latest[0].get("phenomenonTime") or "").split("/")[-1]
            moment = parse_instant(text)
            newest = moment.isoformat() if moment else None
        return {
            "status": "ok",
            "computedAt": now_iso(),
            "seconds": round(time.perf_counter() - started, 3),
            "count": int(observations.get("@iot.count") or 0),
            "datastreams": streams,
            "sampled": seen < streams,
            "lastUpdate": newest,
            "quality": {
                "profile": {"id": d.profile.id, "version": d.profile.version},
                "items": seen,
                "valid": {"count": valid, "share": round(valid / seen, 6) if seen else None},
                "examples": {"schema": examples},
            },
        }
