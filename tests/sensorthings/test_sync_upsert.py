"""The sync's store transaction (upsert.py) without a broker: external keys, no duplicate
Observations, entities without a place, and one refused entity not costing the others."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.config import parse_config
from gateway.sensorthings.service import EmbeddedService
from gateway.sensorthings.store.dialect import SQLITE
from gateway.sensorthings.store.sqlite import write_sync
from gateway.sensorthings.store.write import WriteContext
from gateway.sensorthings.sync.config import NgsiSync
from gateway.sensorthings.sync.ngsi import NgsiSource
from gateway.sensorthings.sync.ngsimap import EntityData, Reading
from gateway.sensorthings.sync.scheduler import SourceState, SyncScheduler
from gateway.sensorthings.sync.upsert import SyncResult, upsert_plan
from gateway.sensorthings.timefmt import parse_instant

POINT = {"type": "Point", "coordinates": [4.47, 51.92]}
T1, T2 = parse_instant("2026-03-02T12:00:00Z", "t"), parse_instant("2026-03-02T13:00:00Z", "t")


def entity(eid: str, *times: int, location: Any = POINT, name: str | None = None) -> EntityData:
    readings = [Reading("no2", 10.0 + i, t, t, "GQ") for i, t in enumerate(times)]
    return EntityData(eid, "AirQualityObserved", name or eid, "d", location, None, readings)


def run(store: Path, entities: list[EntityData]) -> SyncResult:
    return write_sync(
        store, lambda ctx: upsert_plan(ctx, "air", entities, {}), WriteContext(SQLITE)
    )


def test_the_same_values_twice_are_stored_once(tmp_path):
    store = tmp_path / "s.sqlite"
    first = run(store, [entity("a", T1), entity("b", T1)])
    assert (first.things, first.datastreams, first.observations) == (2, 2, 2)
    again = run(store, [entity("a", T1, T2), entity("a", T2), entity("b", T1)])
    assert (again.things, again.datastreams, again.observations, again.skipped) == (0, 0, 1, 3)


def test_an_entity_without_a_place_gets_a_thing_but_its_values_are_skipped(tmp_path):
    result = run(tmp_path / "s.sqlite", [entity("a", T1, location=None)])
    assert (result.things, result.observations, result.skipped) == (1, 0, 1)


def test_another_source_makes_its_own_things(tmp_path):
    store = tmp_path / "s.sqlite"
    run(store, [entity("a", T1)])
    other = write_sync(
        store, lambda ctx: upsert_plan(ctx, "water", [entity("a", T1)], {}), WriteContext(SQLITE)
    )
    assert (other.things, other.observations) == (1, 1)


def test_a_refused_entity_does_not_cost_the_others(tmp_path):
    loaded = parse_config(
        {"tenants": {"t": {"sensorthings": {"store": {"path": "t.sqlite"}}}}}, "x", tmp_path
    )
    cfg = loaded.config.tenants["t"].sensorthings
    service = EmbeddedService("t", cfg, loaded.config.server.sensorthings, tmp_path)

    async def go() -> SyncResult:
        await service.open()
        try:
            scheduler = SyncScheduler(loaded, {"t": service})
            source = NgsiSource(
                "t",
                NgsiSync.model_validate(
                    {"kind": "ngsi-v2", "name": "air", "url": "http://x", "types": ["A"]}
                ),
            )
            state = SourceState(source, service)
            long_name = "x" * 20_000  # beyond server.sensorthings.max_text_length
            batch = [entity("a", T1), entity("b", T1, name=long_name), entity("c", T1)]
            return await scheduler.apply(state, batch, None)
        finally:
            await service.close()

    result = asyncio.run(go())
    assert (result.things, result.observations, result.skipped) == (2, 2, 1)
