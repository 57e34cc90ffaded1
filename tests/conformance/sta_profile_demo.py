"""Shared by the demo conformance tests of the SensorThings profiles: break the first
Datastream of a profile on a page, turn it into one of the profile's invalid examples, or read
the federated root's Datastreams of a profile."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conformance import breakers as B

Mutation = Callable[[dict[str, Any]], None]


def first(profile: str, suffix: str, mutate: Mutation) -> Callable[[Any, B.Scope], Any]:
    """Change the first Datastream declaring `profile` named `... <suffix>` on each page."""

    def change(doc: Any, scope: B.Scope) -> Any:
        streams = doc.get("value", []) if isinstance(doc, dict) else []
        hits = [
            s
            for s in streams
            if str(s.get("name", "")).endswith(f" {suffix}")
            and (s.get("properties") or {}).get("profile") == profile
        ]
        if hits:
            mutate(hits[0])
        return doc

    return change


def as_example(path: Path) -> Mutation:
    """The Datastream becomes the invalid example (keeping its ids and links)."""
    example = json.loads(path.read_text(encoding="utf-8"))

    def mutate(stream: dict[str, Any]) -> None:
        keep = {k: v for k, v in stream.items() if k.startswith("@iot.") or "@iot." in k}
        stream.clear()
        stream.update({**example, **keep})

    return mutate


async def federated(app: Any, profile: str) -> list[dict[str, Any]]:
    """The federated root's Datastreams of `profile`, with their ObservedProperty."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        params = {
            "$filter": f"properties/profile eq '{profile}'",
            "$expand": "ObservedProperty",
            "$top": "1000",
        }
        return (await c.get("/sta/v1.1/Datastreams", params=params)).json()["value"]
