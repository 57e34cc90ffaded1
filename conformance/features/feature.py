"""Part 1 Core: one feature (A.2.8; ETS Feature) and the GeoJSON requirements class, plus
link targets beyond the ETS (a link must lead to what its relation and type promise)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from conformance.context import Problems, Test, expect, expect_status
from conformance.features import api
from conformance.features import links as L
from conformance.features.collections import other_types, self_and_alternates
from conformance.features.items import FC_LINKS, ok_pages
from conformance.features.names import GEOJSON, GEOJSON_CLASS, JSON, core, part1
from conformance.geo import validate_feature, validate_feature_collection
from conformance.http import Fetched
from conformance.model import Blocked
from conformance.registry import FEATURES, check

F_OP = core("f-op", "The server SHALL support GET at /collections/{collectionId}/items/{featureId}")
F_SUCCESS = core("f-success", "A feature request SHALL answer 200")
F_LINKS = core(
    "f-links",
    "A feature SHALL link to itself (self), its other representations (alternate) and its "
    "collection (collection); all links SHALL have rel and type",
)
GJ_DEFINITION = part1(
    GEOJSON_CLASS,
    "geojson/definition",
    "200 responses SHALL support application/geo+json for features and application/json "
    "for other resources",
)
GJ_CONTENT = part1(
    GEOJSON_CLASS,
    "geojson/content",
    "Features SHALL be GeoJSON FeatureCollection/Feature objects with `links`; a feature's "
    "id SHALL equal the featureId in its URL",
)
NEEDS_GEOJSON = (GEOJSON_CLASS.uri,)


async def first_feature_id(t: Test) -> Any:
    for f in api.features_of(await api.first_page(t, t.collection)):
        if "id" in f:
            return f["id"]
    raise Blocked("not tested: the first page has no feature with an id (see f-op)")


async def feature_url(t: Test) -> str:
    return f"{api.items_url(t, t.collection)}/{quote(str(await first_feature_id(t)), safe='')}"


async def feature_fetch(t: Test) -> Fetched:
    return await t.get(await feature_url(t), accept=GEOJSON, cache=True)


async def feature(t: Test) -> dict[str, Any]:
    return api.usable(await feature_fetch(t), "the feature", "/req/core/f-op")


@check(
    F_OP,
    "core/f-op",
    "GET .../items/{featureId} of a listed feature answers",
    suite=FEATURES,
    per_collection=True,
)
async def feature_op(t: Test) -> str:
    first = await api.first_page(t, t.collection)
    features = api.features_of(first)
    if features and all("id" not in f for f in features):
        expect(False, "no feature of the first page has an id, so none can be addressed")
    got = await feature_fetch(t)
    expect(got.status not in (404, 405), f"GET {got.url} answered {got.status}")
    return f"GET {got.url} answered {got.status}"


@check(F_SUCCESS, "core/f-success", "the feature answers 200", suite=FEATURES, per_collection=True)
async def feature_success(t: Test) -> str:
    expect_status(await feature_fetch(t), 200)
    return "200 OK"


@check(
    F_LINKS,
    "core/f-links",
    "self, alternate and collection links on a feature",
    suite=FEATURES,
    per_collection=True,
)
async def feature_links(t: Test) -> str:
    doc = await feature(t)
    found = Problems()
    self_and_alternates(doc, GEOJSON, await other_types(t, True), "the feature", found)
    found.check(L.find(L.links_of(doc), "collection"), "the feature: no link with rel collection")
    found.raise_if_any()
    return "self, alternate and collection links present, all typed"


async def _targets(t: Test, doc: dict[str, Any], base: str, rels: tuple[str, ...]) -> Problems:
    found = Problems()
    for link in L.find(L.links_of(doc), rels):
        try:
            url = L.resolve(link, base)
        except ValueError as e:
            found.add(str(e))
            continue
        got = await t.get(url, accept=link.get("type") or "*/*")
        want = L.base_type(link.get("type"))
        found.check(
            got.status == 200 and (not want or got.media_type == want),
            f"{L.describe(link)} (resolved {url}) answered {got.status} {got.media_type!r}",
        )
    return found


@check(
    F_LINKS,
    "core/f-links-targets",
    "a feature's links answer 200 in their media type; self returns the same feature",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def feature_link_targets(t: Test) -> str:
    doc = await feature(t)
    base = (await feature_fetch(t)).url
    found = await _targets(t, doc, base, ("self", "alternate", "collection"))
    for link in L.find(L.links_of(doc), "self", None):
        if L.base_type(link.get("type")) in (GEOJSON, JSON):
            again = await t.get(L.resolve(link, base), accept=GEOJSON)
            if again.status == 200:
                same = again.json_object().get("id") == doc.get("id")
                found.check(same, f"self link {link.get('href')} returns another feature")
    found.raise_if_any()
    return "all links of the feature resolve"


@check(
    FC_LINKS,
    "core/fc-links-targets",
    "an items page's links answer 200 in their media type; self returns the same page",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def items_link_targets(t: Test) -> str:
    doc = await api.first_page(t, t.collection)
    base = (await api.first_page_fetch(t, t.collection)).url
    found = await _targets(t, doc, base, ("self", "alternate", "next", "prev", "collection"))
    ids = [f.get("id") for f in api.features_of(doc)]
    for link in L.find(L.links_of(doc), "self"):
        if L.base_type(link.get("type")) in (GEOJSON, JSON):
            again = await t.get(L.resolve(link, base), accept=GEOJSON)
            if again.status == 200:
                same = [f.get("id") for f in api.features_of(again.json_object())] == ids
                found.check(same, f"self link {link.get('href')} returns other features")
    found.raise_if_any()
    return "all links of the first page resolve"


@check(
    GJ_DEFINITION,
    "geojson/definition",
    "GeoJSON for items and feature, JSON for the other resources",
    suite=FEATURES,
    needs=NEEDS_GEOJSON,
    per_collection=True,
    beyond_cite=True,
)
async def geojson_definition(t: Test) -> str:
    found = Problems()
    checks = [
        (await api.landing_fetch(t), JSON),
        (await api.conformance_fetch(t), JSON),
        (await api.collections_fetch(t), JSON),
        (await api.collection_fetch(t, t.collection), JSON),
        (await api.first_page_fetch(t, t.collection), GEOJSON),
        (await feature_fetch(t), GEOJSON),
    ]
    for got, media in checks:
        if got.status == 200:
            found.check(
                got.media_type == media, f"{got.url}: Content-Type {got.media_type!r}, not {media}"
            )
    found.raise_if_any()
    return "media types as required"


@check(
    GJ_CONTENT,
    "geojson/content",
    "items and feature bodies are valid GeoJSON (RFC 7946) with links; the id matches the URL",
    suite=FEATURES,
    needs=NEEDS_GEOJSON,
    per_collection=True,
    beyond_cite=True,
)
async def geojson_content(t: Test) -> str:
    found = Problems()
    pages = await ok_pages(t)
    for page, doc in pages:
        for problem in validate_feature_collection(doc)[:5]:
            found.add(f"{page.url}: {problem}")
        found.check(isinstance(doc.get("links"), list), f"{page.url}: no links member")
    one = await feature(t)
    for problem in validate_feature(one)[:5]:
        found.add(f"feature: {problem}")
    found.check(isinstance(one.get("links"), list), "feature: no links member")
    wanted = await first_feature_id(t)
    found.check(
        str(one.get("id")) == str(wanted),
        f"feature at .../items/{wanted} has id {one.get('id')!r}",
    )
    found.raise_if_any()
    return f"{len(pages)} FeatureCollections and a Feature are valid GeoJSON"
