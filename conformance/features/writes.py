"""What the Features Part 4 checks share: which collections take writes, the features they
send (copies of a real item, so they satisfy the collection's schema), the comparison of
what comes back, and the items they create, each deleted at the end of the run.

A collection takes writes when it declares Part 4 itself (`conformsTo` of
/collections/{id}) or /conformance declares it and the API definition has the operation
(POST on /collections/{id}/items; PUT, PATCH, DELETE on /collections/{id}/items/{featureId}).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from conformance.context import CheckFunc, Test
from conformance.features import api
from conformance.features import links as L
from conformance.features import openapi as oas
from conformance.features.names import (
    CREATE_REPLACE_DELETE,
    GEOJSON,
    OPTIMISTIC_LOCKING_ETAGS,
    OPTIMISTIC_LOCKING_ETAGS_REQ,
    SCHEMA_JSON,
    UPDATE,
)
from conformance.http import Fetched
from conformance.model import Blocked, CheckFailed, CheckSkipped, Requirement
from conformance.registry import FEATURES, check

Feature = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
METHODS = ("post", "put", "patch", "delete")
REL_SCHEMA = ("http://www.opengis.net/def/rel/ogc/1.0/schema", "[ogc-rel:schema]")
SHIFT = 0.0001  # degrees a replacement moves the geometry: ~10 m, inside any sane extent
COORD_TOLERANCE = 1e-6  # degrees: a round trip through a projected storage CRS stays within


def part4_check(
    requirement: Requirement, check_id: str, title: str
) -> Callable[[CheckFunc], CheckFunc]:
    """A Part 4 check: per collection, run only with --allow-writes, beyond OGC's suite."""
    return check(
        requirement,
        check_id,
        title,
        suite=FEATURES,
        per_collection=True,
        writes=True,
        beyond_cite=True,
    )


@dataclass(frozen=True)
class Writable:
    """How a collection takes writes: the Part 4 classes it has and the methods offered."""

    classes: frozenset[str]
    methods: frozenset[str]

    def has_update(self) -> bool:
        return UPDATE.uri in self.classes and "patch" in self.methods

    def has_etags(self) -> bool:
        uris = (OPTIMISTIC_LOCKING_ETAGS.uri, OPTIMISTIC_LOCKING_ETAGS_REQ)
        return any(u in self.classes for u in uris)


def allowed(t: Test) -> None:
    if not t.ctx.options.allow_writes:
        raise CheckSkipped("writes are not allowed (use --allow-writes: it changes data)")


async def _declared(t: Test) -> set[str]:
    try:
        return await api.declared(t)
    except Blocked:
        return set()


async def _collection_classes(t: Test, cid: str) -> set[str]:
    try:
        doc = await api.collection(t, cid)
    except Blocked:
        return set()
    found = doc.get("conformsTo")
    return {c for c in found if isinstance(c, str)} if isinstance(found, list) else set()


async def _api_methods(t: Test, cid: str) -> set[str] | None:
    """The write methods the API definition has for this collection; None when unreadable."""
    try:
        doc = await api.api_definition(t)
    except Blocked:
        return None
    landing = (await api.landing_fetch(t)).url
    found: set[str] = set()
    items = api.items_url(t, cid)
    for url, methods in ((items, ("post",)), (f"{items}/any-id", ("put", "patch", "delete"))):
        template = oas.find_path(doc, landing, url)
        if template is not None:
            found |= {m for m in methods if _writes(doc, template, m)}
    return found


def _writes(doc: dict[str, Any], template: str, method: str) -> bool:
    """Whether the operation is a write: a POST on items may be Part 3's CQL2-JSON search,
    so it counts when it answers 201 or takes GeoJSON."""
    op = oas.operation(doc, template, method)
    if op is None or method != "post":
        return op is not None
    body = oas.resolve(doc, op.get("requestBody"))
    content = body.get("content") if isinstance(body, dict) else None
    takes = isinstance(content, dict) and any(str(k).startswith(GEOJSON) for k in content)
    return takes or "201" in oas.responses(doc, template, method)


async def writable(t: Test, method: str) -> Writable:
    """The collection's write support; skips the check when it cannot take `method`."""
    allowed(t)
    cid = t.collection
    declared, own = await _declared(t), await _collection_classes(t, cid)
    classes = declared | own
    if CREATE_REPLACE_DELETE.uri not in classes:
        raise CheckSkipped(
            f"'{cid}' does not declare {CREATE_REPLACE_DELETE.uri}, neither in /conformance "
            "nor in its own conformsTo"
        )
    methods = await _api_methods(t, cid)
    if CREATE_REPLACE_DELETE.uri in own:  # the API definition may be generic, or absent
        methods = methods or set(METHODS)
    elif methods is None:
        raise CheckSkipped(
            "Part 4 is declared for the API only and its API definition cannot be read: "
            "which collections take writes is unknown"
        )
    if method not in methods:
        raise CheckSkipped(f"the API definition has no {method.upper()} for the items of '{cid}'")
    return Writable(frozenset(classes), frozenset(methods))


# --- the features sent ----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """A real item to copy, and another value for one property (from another real item)."""

    feature: Feature  # the copy to POST: no id, no links, read-only properties null or left out
    alternative: tuple[str, Any] | None  # (property, a value it takes elsewhere)
    read_only: frozenset[str]


async def read_only(t: Test, cid: str) -> dict[str, bool]:
    """Properties the collection's schema (Part 5) marks `readOnly`: not sent, or sent as
    null where the schema admits null (a schema may require a property a client cannot
    set); name -> whether null is admitted."""
    try:
        doc = await api.collection(t, cid)
    except Blocked:
        return {}
    found = L.find(L.links_of(doc), REL_SCHEMA)
    if not found:
        return {}
    url = L.resolve(found[0], (await api.collection_fetch(t, cid)).url)
    got = await t.http.get(url, accept=SCHEMA_JSON, cache=True)
    try:
        props = got.json_object().get("properties") if got.status == 200 else None
    except CheckFailed:
        return {}
    if not isinstance(props, dict):
        return {}
    return {
        name: _admits_null(schema)
        for name, schema in props.items()
        if isinstance(schema, dict) and schema.get("readOnly") is True
    }


def _admits_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def _alternative(source: Feature, others: list[Feature], skip: frozenset[str]) -> Any:
    """A property whose value differs on another item (same JSON type, not null)."""
    mine = source.get("properties") or {}
    for kind in (str, int | float):
        for name, value in mine.items():
            if name in skip or isinstance(value, bool) or not isinstance(value, kind):
                continue
            for other in others:
                candidate = (other.get("properties") or {}).get(name)
                usable = isinstance(candidate, kind) and not isinstance(candidate, bool)
                if usable and not same(candidate, value):
                    return name, candidate
    return None


async def sample(t: Test) -> Sample:
    cid = t.collection
    features = api.features_of(await api.first_page(t, cid))
    if not features:
        raise Blocked(f"not tested: '{cid}' has no item to copy")
    fixed = await read_only(t, cid)
    first = features[0]
    props = {
        k: None if k in fixed else v
        for k, v in (first.get("properties") or {}).items()
        if fixed.get(k, True)
    }
    copy = {"type": "Feature", "geometry": first.get("geometry"), "properties": props}
    skip = frozenset(fixed)
    return Sample(copy, _alternative(copy, features[1:], skip), skip)


def shifted(geometry: Any, by: float = SHIFT) -> Any:
    """The geometry moved by `by` degrees east and north (None stays None)."""

    def move(c: Any) -> Any:
        if isinstance(c, list) and c and all(isinstance(x, int | float) for x in c):
            return [c[0] + by, c[1] + by, *c[2:]] if len(c) >= 2 else c
        return [move(x) for x in c] if isinstance(c, list) else c

    if not isinstance(geometry, dict):
        return geometry
    if geometry.get("type") == "GeometryCollection":
        return {**geometry, "geometries": [shifted(g, by) for g in geometry.get("geometries", [])]}
    return {**geometry, "coordinates": move(geometry.get("coordinates"))}


def encoded(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


# --- comparing ------------------------------------------------------------------------


def same(a: Any, b: Any, tolerance: float = 1e-6) -> bool:
    """Equal as JSON values, numbers within `tolerance` (relative for large ones)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=tolerance)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return all(same(a.get(k), b.get(k), tolerance) for k in keys)
    return bool(a == b)


def _geometry_text(g: Any) -> str:
    text = json.dumps(g)
    return text if len(text) <= 120 else text[:120] + "…"


def differences(expected: Feature, got: Feature, names: list[str] | None = None) -> list[str]:
    """How `got` differs from `expected` in geometry and the properties `names` (default:
    every property of `expected`; a property left out counts as null)."""
    found = []
    mine, theirs = expected.get("properties") or {}, got.get("properties") or {}
    for name in names if names is not None else list(mine):
        if not same(mine.get(name), theirs.get(name)):
            found.append(f"{name} is {theirs.get(name)!r}, expected {mine.get(name)!r}")
    g1, g2 = expected.get("geometry"), got.get("geometry")
    if not (isinstance(g1, dict) and isinstance(g2, dict) and g1.get("type") == g2.get("type")):
        if g1 != g2:
            found.append(f"geometry is {_geometry_text(g2)}, expected {_geometry_text(g1)}")
    elif not same(g1.get("coordinates"), g2.get("coordinates"), COORD_TOLERANCE) or not same(
        g1.get("geometries"), g2.get("geometries"), COORD_TOLERANCE
    ):
        found.append(f"geometry is {_geometry_text(g2)}, expected {_geometry_text(g1)}")
    return found


# --- the items the checks create --------------------------------------------------------


async def post(t: Test, feature: Feature) -> tuple[Fetched, str | None]:
    """POST `feature`; the resolved Location (if any) is deleted at the end of the run."""
    url = api.items_url(t, t.collection)
    got = await t.request("POST", url, content=encoded(feature), headers={"Content-Type": GEOJSON})
    location = got.headers.get("location")
    if not location or not 200 <= got.status < 300:
        return got, None
    resolved = urljoin(got.url, location)
    t.ctx.cleanups.append(lambda: _delete(t, resolved))
    return got, resolved


async def _delete(t: Test, url: str) -> None:
    await t.ctx.session.fetch("DELETE", url)


async def created(t: Test, feature: Feature) -> str:
    """A new item for a check that needs one; Blocked when the server makes none."""
    got, location = await post(t, feature)
    if location is None:
        raise Blocked(
            f"not tested: POST {got.url} answered {got.status} without a Location "
            "(see part4/create)"
        )
    return location


async def read(t: Test, url: str) -> tuple[Fetched, Feature | None]:
    got = await t.get(url, accept=GEOJSON)
    if got.status != 200:
        return got, None
    doc = got.json()
    return got, doc if isinstance(doc, dict) else None


def missing_id() -> str:
    return f"twinbridge-conformance-missing-{uuid.uuid4().hex[:12]}"
