"""Read a SensorThings profile's Datastreams page by page into a DatastreamAccumulator,
through any `get(path, options)` that answers as a SensorThings service does: the gateway's
own service in process (the catalog) or HTTP (`twinbridge quality`). One reader, so both
show the same figures.

A Datastream is the profile's when it declares it (`properties.profile`), as the catalog
counts it. (Also matching the profile's ObservedProperty definitions would take one join
per observed property, beyond the service's join limit for larger profiles.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.quality.datastreams import DatastreamAccumulator, phenomenon_end
from profiles import Profile

Get = Callable[[str, list[tuple[str, str]]], Awaitable[Any]]
Progress = Callable[[int, int | None], None]  # (Datastreams read, of how many)


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def owned(profile: Profile, prefix: str = "") -> str:
    """The OData filter selecting the profile's Datastreams (`prefix`: a path to them)."""
    return f"{prefix}properties/profile eq {literal(profile.id)}"


def expand(window: int) -> str:
    latest = f"$orderby=phenomenonTime desc;$top={window};$select=phenomenonTime,result"
    return f"Thing($expand=Locations),ObservedProperty,Sensor,Observations({latest})"


@dataclass
class Read:
    """How far a read got: Datastreams seen of how many, and the Observations."""

    datastreams: int = 0
    matched: int | None = None
    complete: bool = False
    observations: int | None = None
    newest: datetime | None = None
    ids: list[Any] = field(default_factory=list)  # of the Datastreams seen


async def read(
    get: Get,
    profile: Profile,
    figures: DatastreamAccumulator,
    *,
    page: int = 100,
    max_items: int = 0,
    progress: Progress | None = None,
) -> Read:
    """Feed every Datastream of the profile (at most `max_items`, 0: all) to `figures`,
    then count their Observations."""
    state = Read()
    while True:
        top = page if not max_items else min(page, max_items - state.datastreams)
        doc = await get(
            "Datastreams",
            [
                ("$filter", owned(profile)),
                ("$count", "true"),
                ("$expand", expand(figures.window)),
                ("$top", str(top)),
                ("$skip", str(state.datastreams)),
                ("$orderby", "id"),
            ],
        )
        if isinstance(doc.get("@iot.count"), int):
            state.matched = doc["@iot.count"]
        values = [v for v in doc.get("value") or () if isinstance(v, dict)]
        await asyncio.to_thread(figures.add_many, values)  # validation: CPU, off the loop
        state.datastreams += len(values)
        state.ids.extend(v.get("@iot.id") for v in values)
        if progress:
            progress(state.datastreams, state.matched)
        done = not values or (state.matched is not None and state.datastreams >= state.matched)
        if done or (state.matched is None and "@iot.nextLink" not in doc):
            state.complete = True
            break
        if max_items and state.datastreams >= max_items:
            break
    await _observations(get, profile, state)
    return state


async def _observations(get: Get, profile: Profile, state: Read) -> None:
    doc = await get(
        "Observations",
        [
            ("$filter", owned(profile, "Datastream/")),
            ("$count", "true"),
            ("$top", "1"),
            ("$orderby", "phenomenonTime desc"),
            ("$select", "phenomenonTime"),
        ],
    )
    if isinstance(doc.get("@iot.count"), int):
        state.observations = doc["@iot.count"]
    latest = doc.get("value") or []
    if latest and isinstance(latest[0], dict):
        state.newest = phenomenon_end(latest[0].get("phenomenonTime"))
