"""Discovery of a SensorThings service, cached for the run: the service root, what it
declares, entity sets read page by page along @iot.nextLink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.context import HOOKS, SuiteHooks, Test
from conformance.http import Fetched, Probe
from conformance.model import Blocked, CheckFailed
from conformance.registry import SENSORTHINGS
from conformance.sensorthings.names import BY_SET, STA

JSON = "application/json"
ASSUMED_1_0 = {f"{STA}/req/{p}" for p in ("datamodel", "resource-path", "request-data")}


def root_url(t: Test) -> str:
    return (t.ctx.options.sta_url or t.ctx.target).rstrip("/")


async def root_fetch(t: Test) -> Fetched:
    return await t.http.get(root_url(t), accept=JSON, cache=True)


async def root(t: Test) -> dict[str, Any]:
    got = await root_fetch(t)
    try:
        doc = got.json_object() if got.status == 200 else None
    except CheckFailed:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), list):
        raise Blocked(
            f"not tested: {got.url} has no `value` list of entity sets (status {got.status}); "
            "it is not a SensorThings service root"
        )
    return doc


async def entity_sets(t: Test) -> dict[str, str]:
    """Entity set name -> URL, for the eight sets of the core model the root lists."""
    out = {}
    for entry in (await root(t))["value"]:
        if (
            isinstance(entry, dict)
            and entry.get("name") in BY_SET
            and isinstance(entry.get("url"), str)
        ):
            out[entry["name"]] = entry["url"]
    return out


async def declared(t: Test) -> set[str]:
    """The serverSettings conformance list; a 1.0 root without it is assumed to offer the
    sensing core and request-data (writes and MQTT stay behind their options)."""
    settings = (await root(t)).get("serverSettings")
    if not isinstance(settings, dict) or not isinstance(settings.get("conformance"), list):
        return set(ASSUMED_1_0)
    return {c for c in settings["conformance"] if isinstance(c, str)}


def matches(needed: str, declared_set: set[str]) -> bool:
    """A declared class covers its finer requirements: ".../request-data" covers
    ".../request-data/filter"."""
    return any(needed == d or needed.startswith(d + "/") for d in declared_set)


def literal(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def entity_url(t: Test, set_name: str, entity_id: Any) -> str:
    return f"{root_url(t)}/{set_name}({literal(entity_id)})"


def set_url(t: Test, set_name: str) -> str:
    return f"{root_url(t)}/{set_name}"


@dataclass
class Listing:
    entities: list[dict[str, Any]]
    complete: bool
    pages: list[Fetched]


def value_of(got: Fetched) -> list[dict[str, Any]]:
    doc = got.json_object()
    value = doc.get("value")
    if not isinstance(value, list):
        raise CheckFailed(f"{got.url}: no `value` array")
    return [e for e in value if isinstance(e, dict)]


async def read_all(probe: Probe, url: str, params: dict[str, str] | None, cap: int) -> Listing:
    """Follow @iot.nextLink to the end (or `cap` entities)."""
    entities: list[dict[str, Any]] = []
    pages: list[Fetched] = []
    current, current_params = url, params
    while len(pages) < 200:
        got = await probe.get(current, params=current_params, accept=JSON)
        if got.status != 200:
            raise CheckFailed(f"GET {got.url} answered {got.status}")
        pages.append(got)
        entities += value_of(got)
        nxt = got.json_object().get("@iot.nextLink")
        if not isinstance(nxt, str) or len(entities) >= cap:
            return Listing(entities, not isinstance(nxt, str), pages)
        current, current_params = nxt, None
    return Listing(entities, False, pages)


async def all_entities(t: Test, set_name: str, params: dict[str, str] | None = None) -> Listing:
    return await listing(t, set_url(t, set_name), params)


async def listing(t: Test, url: str, params: dict[str, str] | None = None) -> Listing:
    """Every entity behind a collection URL (read once per run)."""
    key = ("sta-all", url, tuple(sorted((params or {}).items())))
    cap = t.ctx.options.max_items
    return await t.http.memo(key, lambda p: read_all(p, url, params, cap))


def complete(got: Listing, what: str, cap: int) -> list[dict[str, Any]]:
    if not got.complete:
        raise Blocked(f"not tested: {what} holds more than {cap} entities (--max-items)")
    return got.entities


async def observations_scope(t: Test, limit: int = 5000) -> str:
    """Where filters on Observations are checked: all Observations when there are at most
    `limit` with numeric results, else the Observations of the first Datastream that has
    at most that many, numeric ones."""
    measurement = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
    params = {"$filter": f"observationType eq '{measurement}'", "$top": "50"}
    got = await t.http.get(set_url(t, "Datastreams"), params=params, accept=JSON, cache=True)
    streams = value_of(got) if got.status == 200 else []
    streams += (await first_page(t, "Datastreams"))[:50]
    candidates = [set_url(t, "Observations")] + [
        f"{entity_url(t, 'Datastreams', s['@iot.id'])}/Observations" for s in streams
    ]
    for url in candidates:
        got = await t.http.get(url, params={"$top": "1", "$count": "true"}, accept=JSON, cache=True)
        doc = got.json_object() if got.status == 200 else {}
        count, first = doc.get("@iot.count"), (doc.get("value") or [{}])[0]
        numeric = isinstance(first.get("result"), int | float) and not isinstance(
            first.get("result"), bool
        )
        if isinstance(count, int) and 0 < count <= limit and numeric:
            return url
    raise Blocked(f"not tested: no Datastream with at most {limit} numeric Observations")


async def first_page(t: Test, set_name: str) -> list[dict[str, Any]]:
    if set_name not in await entity_sets(t):
        raise Blocked(f"not tested: the service root lists no {set_name}")
    got = await t.http.get(set_url(t, set_name), accept=JSON, cache=True)
    if got.status != 200:
        raise Blocked(f"not tested: GET {got.url} answered {got.status}")
    return value_of(got)


async def sample(t: Test, set_name: str, n: int = 2) -> list[dict[str, Any]]:
    found = (await first_page(t, set_name))[:n]
    if not found:
        raise Blocked(f"not tested: {set_name} is empty")
    return found


async def _subjects(t: Test) -> list[str]:
    return list(await entity_sets(t))


# How the runner plans this suite: the classes the service declares, the entity sets to test.
HOOKS[SENSORTHINGS] = SuiteHooks(declared=declared, subjects=_subjects, matches=matches)
