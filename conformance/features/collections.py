"""Part 1 Core: /collections and /collections/{collectionId} (A.2.5, A.2.6; ETS
FeatureCollections, FeatureCollection)."""

from __future__ import annotations

from typing import Any

from conformance.context import Problems, Test, expect, expect_status
from conformance.features import api
from conformance.features import links as L
from conformance.features.names import CRS84, CRS84H, GEOJSON, HTML, JSON, core
from conformance.features.schemas import COLLECTIONS, problems
from conformance.registry import FEATURES, check

FC_MD_OP = core("fc-md-op", "The server SHALL support HTTP GET at the path /collections")
FC_MD_SUCCESS = core(
    "fc-md-success", "/collections SHALL answer 200 with content following collections.yaml"
)
FC_MD_LINKS = core(
    "fc-md-links",
    "/collections SHALL link to itself (self) and to every other representation (alternate); "
    "all links SHALL have rel and type",
)
FC_MD_ITEMS = core("fc-md-items", "Each feature collection SHALL be an item of `collections`")
FC_MD_ITEMS_LINKS = core(
    "fc-md-items-links",
    "Each collection SHALL link to its items in every supported encoding (rel items); all "
    "links SHALL have rel and type",
)
CRS84_REQ = core(
    "crs84",
    "Unless another CRS is requested, geometries SHALL be in CRS84 (CRS84h with height)",
)
SFC_MD_OP = core("sfc-md-op", "The server SHALL support GET at /collections/{collectionId}")
SFC_MD_SUCCESS = core(
    "sfc-md-success",
    "/collections/{collectionId} SHALL answer 200 with the same id, title, description, extent "
    "and itemType as in /collections, and all of its links",
)


async def other_types(t: Test, feature: bool) -> list[str]:
    """Media types an `alternate` link is required for (from the declared classes)."""
    del feature  # HTML is the only other encoding Part 1 defines besides (Geo)JSON
    return [HTML] if await api.declares_part1(t, "html") else []


def self_and_alternates(
    doc: dict[str, Any], served: str, others: list[str], where: str, found: Problems
) -> None:
    """The Part 1 rule: a typed self link, an alternate per other media type, rel+type on all."""
    links = L.links_of(doc)
    selfs = [x for x in links if x.get("rel") == "self"]
    found.check(selfs, f"{where}: no link with rel self")
    for x in selfs:
        found.check(
            L.base_type(x.get("type")) == served,
            f"{where}: the self link's type is {x.get('type')!r}, the document is {served}",
        )
    alternates = {L.base_type(x.get("type")) for x in links if x.get("rel") == "alternate"}
    for media in others:
        found.check(media in alternates, f"{where}: no alternate link of type {media}")
    for bad in L.missing_rel_or_type(links):
        found.add(f"{where}: link without rel or type: {bad}")


@check(FC_MD_OP, "core/fc-md-op", "GET /collections answers 200", suite=FEATURES)
async def collections_op(t: Test) -> str:
    expect_status(await api.collections_fetch(t), 200)
    return "200 OK"


@check(FC_MD_SUCCESS, "core/fc-md-success", "/collections follows collections.yaml", suite=FEATURES)
async def collections_success(t: Test) -> str:
    fetched = await api.collections_fetch(t)
    expect_status(fetched, 200)
    found = Problems()
    for p in problems(COLLECTIONS, fetched.json()):
        found.add(f"collections.yaml: {p}")
    found.raise_if_any("/collections")
    return "valid against collections.yaml"


@check(
    FC_MD_LINKS, "core/fc-md-links", "self, alternate, rel and type on /collections", suite=FEATURES
)
async def collections_links(t: Test) -> str:
    doc = api.usable(await api.collections_fetch(t), "/collections", "/req/core/fc-md-op")
    found = Problems()
    self_and_alternates(doc, JSON, await other_types(t, False), "/collections", found)
    found.raise_if_any()
    return "self and alternate links present, all typed"


@check(FC_MD_ITEMS, "core/fc-md-items", "collections listed, each with an id", suite=FEATURES)
async def collections_items(t: Test) -> str:
    entries = await api.collections(t)
    expect(entries, "/collections lists no collection")
    missing = [i for i, c in enumerate(entries) if not isinstance(c.get("id"), str)]
    expect(not missing, f"collections without an id at positions {missing}")
    return f"{len(entries)} collection(s)"


@check(
    FC_MD_ITEMS_LINKS,
    "core/fc-md-items-links",
    "every collection links to its items per encoding",
    suite=FEATURES,
)
async def collections_items_links(t: Test) -> str:
    entries = await api.collections(t)
    wanted = [GEOJSON] if await api.declares_part1(t, "geojson") else []
    wanted += await other_types(t, True)
    found = Problems()
    for c in entries:
        if str(c.get("itemType", "feature")).lower() != "feature":
            continue
        links = L.links_of(c)
        items = {L.base_type(x.get("type")) for x in links if x.get("rel") == "items"}
        found.check(items, f"'{c.get('id')}': no link with rel items")
        for media in wanted:
            found.check(media in items, f"'{c.get('id')}': no items link of type {media}")
        for bad in L.missing_rel_or_type(links):
            found.add(f"'{c.get('id')}': link without rel or type: {bad}")
    found.raise_if_any()
    return "items links for every encoding"


@check(
    CRS84_REQ,
    "core/collections-crs-default",
    "a crs list on /collections starts with CRS84 or CRS84h (ETS check)",
    suite=FEATURES,
)
async def collections_default_crs(t: Test) -> str:
    doc = api.usable(await api.collections_fetch(t), "/collections", "/req/core/fc-md-op")
    crs = doc.get("crs")
    if crs is None:
        return "no crs list on /collections (allowed)"
    expect(isinstance(crs, list) and crs, f"crs must be a non-empty list, got {crs!r}")
    expect(crs[0] in (CRS84, CRS84H), f"the first crs is {crs[0]!r}, not CRS84 or CRS84h")
    return f"first crs is {crs[0]}"


@check(
    SFC_MD_OP,
    "core/sfc-md-op",
    "GET /collections/{collectionId} answers 200",
    suite=FEATURES,
    per_collection=True,
)
async def collection_op(t: Test) -> str:
    expect_status(await api.collection_fetch(t, t.collection), 200)
    return "200 OK"


def _link_key(x: dict[str, Any], base: str) -> tuple[str, str, str]:
    href = L.resolve(x, base) if isinstance(x.get("href"), str) else ""
    return (str(x.get("rel")), L.base_type(x.get("type")), href)


@check(
    SFC_MD_SUCCESS,
    "core/sfc-md-success",
    "the collection document agrees with its /collections entry",
    suite=FEATURES,
    per_collection=True,
)
async def collection_success(t: Test) -> str:
    entry = await api.collection_entry(t, t.collection)
    fetched = await api.collection_fetch(t, t.collection)
    expect_status(fetched, 200)
    doc = fetched.json_object()
    found = Problems()
    for key in ("id", "title", "description", "extent", "itemType"):
        found.check(
            doc.get(key) == entry.get(key),
            f"{key}: {doc.get(key)!r:.120} here, {entry.get(key)!r:.120} in /collections",
        )
    base = (await api.collections_fetch(t)).url
    have = {_link_key(x, fetched.url) for x in L.links_of(doc)}
    for x in L.links_of(entry):
        key = _link_key(x, base)
        if key[0] != "self":  # the entry's self link may point at this very document
            found.check(key in have, f"link {L.describe(x)} from /collections is missing")
    found.raise_if_any(f"/collections/{t.collection}")
    return "consistent with /collections"
