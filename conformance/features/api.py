"""Discovery of an OGC API – Features endpoint, cached for the whole run: landing page,
conformance, API definition, collections, items. Each function records its requests as
evidence of the calling check; when a resource is unusable it raises Blocked (the check
that owns that resource reports the failure, the others are skipped with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from conformance.context import HOOKS, SuiteHooks, Test, exact_match
from conformance.features import links as L
from conformance.features import openapi as oas
from conformance.features.names import F1, GEOJSON, JSON, OPENAPI_JSON
from conformance.http import Fetched, Probe
from conformance.model import Blocked, CheckFailed
from conformance.registry import FEATURES


def usable(f: Fetched, what: str, owner: str) -> dict[str, Any]:
    if f.status != 200:
        raise Blocked(f"not tested: {what} answered {f.status} (see {owner})")
    try:
        return f.json_object()
    except CheckFailed as e:
        raise Blocked(f"not tested: {what} is not a JSON object (see {owner}): {e}") from None


async def landing_fetch(t: Test) -> Fetched:
    return await t.http.get(t.ctx.target, accept=JSON, cache=True)


async def landing(t: Test) -> dict[str, Any]:
    return usable(await landing_fetch(t), "the landing page", "/req/core/root-op")


async def conformance_fetch(t: Test) -> Fetched:
    return await t.http.get(t.ctx.url("/conformance"), accept=JSON, cache=True)


async def declared(t: Test) -> set[str]:
    doc = usable(await conformance_fetch(t), "/conformance", "/req/core/conformance-op")
    classes = doc.get("conformsTo")
    if not isinstance(classes, list):
        raise Blocked("not tested: /conformance has no conformsTo list")
    return {c.strip() for c in classes if isinstance(c, str)}


async def declares(t: Test, uri: str) -> bool:
    try:
        return uri in await declared(t)
    except Blocked:
        return False


async def declares_part1(t: Test, name: str) -> bool:
    return await declares(t, f"{F1}/conf/{name}")


def service_desc(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The landing page's OpenAPI 3.0 JSON link (the exact type CITE requires), if any."""
    found = L.find(L.links_of(doc), "service-desc", OPENAPI_JSON)
    return found[0] if found else None


async def api_definition(t: Test) -> dict[str, Any]:
    """The OpenAPI 3.0 document, from the landing page's `service-desc` link."""
    doc = await landing(t)
    link = service_desc(doc)
    if link is None:
        raise Blocked(
            f"not tested: the landing page has no service-desc link of type {OPENAPI_JSON}"
        )
    url = L.resolve(link, (await landing_fetch(t)).url)
    fetched = await t.http.get(url, accept=OPENAPI_JSON, cache=True)
    api = usable(fetched, "the API definition", "/req/core/api-definition-op")
    if not isinstance(api.get("paths"), dict):
        raise Blocked("not tested: the API definition has no paths object")
    return api


async def collections_fetch(t: Test) -> Fetched:
    return await t.http.get(t.ctx.url("/collections"), accept=JSON, cache=True)


async def collections(t: Test) -> list[dict[str, Any]]:
    doc = usable(await collections_fetch(t), "/collections", "/req/core/fc-md-op")
    found = doc.get("collections")
    if not isinstance(found, list):
        raise Blocked("not tested: /collections has no collections list")
    return [c for c in found if isinstance(c, dict)]


async def feature_collection_ids(t: Test) -> list[str]:
    """The collections to test: feature collections with an id, at most `max_collections`."""
    wanted = t.ctx.options.collection
    ids = []
    for c in await collections(t):
        item_type = str(c.get("itemType", "feature")).lower()
        if isinstance(c.get("id"), str) and item_type == "feature":
            ids.append(c["id"])
    if wanted:
        if wanted not in ids:
            raise Blocked(f"not tested: /collections lists no feature collection '{wanted}'")
        return [wanted]
    if not ids:
        raise Blocked("not tested: /collections lists no feature collection")
    limit = t.ctx.options.max_collections
    return ids[:limit] if limit > 0 else ids


async def collection_entry(t: Test, cid: str) -> dict[str, Any]:
    for c in await collections(t):
        if c.get("id") == cid:
            return c
    raise Blocked(f"not tested: '{cid}' is not in /collections")


def collection_url(t: Test, cid: str) -> str:
    return t.ctx.url(f"/collections/{quote(cid, safe='')}")


def items_url(t: Test, cid: str) -> str:
    return collection_url(t, cid) + "/items"


async def collection_fetch(t: Test, cid: str) -> Fetched:
    return await t.http.get(collection_url(t, cid), accept=JSON, cache=True)


async def collection(t: Test, cid: str) -> dict[str, Any]:
    return usable(await collection_fetch(t, cid), f"/collections/{cid}", "/req/core/sfc-md-op")


async def first_page_fetch(t: Test, cid: str) -> Fetched:
    return await t.http.get(items_url(t, cid), accept=GEOJSON, cache=True)


async def first_page(t: Test, cid: str) -> dict[str, Any]:
    return usable(await first_page_fetch(t, cid), f"items of '{cid}'", "/req/core/fc-op")


def features_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("features")
    return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


async def items_parameters(t: Test, cid: str) -> tuple[dict[str, Any], dict[str, dict]]:
    """The API definition and the parameters of its GET operation for this items path."""
    api = await api_definition(t)
    template = oas.find_path(api, (await landing_fetch(t)).url, items_url(t, cid))
    if template is None:
        raise Blocked(f"not tested: the API definition has no path for the items of '{cid}'")
    return api, oas.parameters(api, template)


async def limit_maximum(t: Test, cid: str) -> int | None:
    try:
        api, params = await items_parameters(t, cid)
    except Blocked:
        return None
    schema = oas.parameter_schema(api, params.get("limit", {}))
    maximum = schema.get("maximum")
    return int(maximum) if isinstance(maximum, int | float) and maximum >= 1 else None


async def limit_default(t: Test, cid: str) -> int | None:
    try:
        api, params = await items_parameters(t, cid)
    except Blocked:
        return None
    default = oas.parameter_schema(api, params.get("limit", {})).get("default")
    return int(default) if isinstance(default, int | float) and default >= 1 else None


def next_link(doc: dict[str, Any], page_url: str) -> str | None:
    found = L.find(L.links_of(doc), "next")
    typed = [x for x in found if L.base_type(x.get("type")) in (GEOJSON, JSON)]
    chosen = (typed or found or [None])[0]
    if chosen is None or not isinstance(chosen.get("href"), str):
        return None
    return L.resolve(chosen, page_url)


@dataclass
class AllItems:
    features: list[dict[str, Any]]
    complete: bool
    note: str
    number_matched: int | None

    def require_complete(self, purpose: str) -> None:
        if not self.complete:
            raise Blocked(f"not tested ({purpose}): {self.note}")


async def read_all(probe: Probe, url: str, params: dict[str, Any], cap: int) -> AllItems:
    """Follow `next` links from `url` until the end (or `cap` items).

    The read counts as complete when the last page has no next link and either was not
    full or `numberMatched` confirms the count; a full last page without a next link may
    hide more items (a server that drops next links), so it is not trusted.
    """
    features: list[dict[str, Any]] = []
    number_matched = None
    page_size = int(params.get("limit", 0) or 0)
    current, current_params = url, params
    while True:
        page = await probe.get(current, params=current_params, accept=GEOJSON)
        doc = usable(page, f"GET {page.url}", "/req/core/fc-op")
        batch = features_of(doc)
        features.extend(batch)
        if current_params is not None and isinstance(doc.get("numberMatched"), int):
            number_matched = doc["numberMatched"]
        nxt = next_link(doc, page.url)
        if len(features) >= cap:
            return AllItems(features, False, f"stopped after {cap} items (--max-items)", None)
        if nxt is None or not batch:
            break
        current, current_params = nxt, None
    full = page_size > 0 and len(batch) >= page_size
    if full and (number_matched is None or len(features) < number_matched):
        note = f"paging ended on a full page after {len(features)} items without a next link"
        return AllItems(features, False, note, number_matched)
    return AllItems(features, True, "", number_matched)


async def all_items(t: Test, cid: str, extra: dict[str, str] | None = None) -> AllItems:
    """Every item of a collection (optionally with selection parameters), read once per run."""
    page_size = min(await limit_maximum(t, cid) or 1000, 10_000)
    params = {**(extra or {}), "limit": str(page_size)}
    key = ("all-items", cid, tuple(sorted(params.items())))
    return await t.http.memo(
        key, lambda p: read_all(p, items_url(t, cid), params, t.ctx.options.max_items)
    )


# How the runner plans this suite: the classes the server declares, the collections to test.
HOOKS[FEATURES] = SuiteHooks(
    declared=declared, subjects=feature_collection_ids, matches=exact_match
)
