"""OGC API – Features Part 4 (draft 20-002r1): what a server must refuse. A stale If-Match
(optimistic locking with ETags), a body that is no feature, a replace or delete of an item
that does not exist. Only with --allow-writes; whatever a faulty server creates anyway is
deleted at the end of the run."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from conformance.context import Problems, Test, expect
from conformance.features import api
from conformance.features import writes as W
from conformance.features.names import (
    CREATE_REPLACE_DELETE,
    GEOJSON,
    OPTIMISTIC_LOCKING_ETAGS,
    part4,
)
from conformance.model import CheckSkipped, Level

CRD, ETAGS = CREATE_REPLACE_DELETE, OPTIMISTIC_LOCKING_ETAGS
IF_MATCH_PUT = part4(
    ETAGS,
    "optimistic-locking-etags/ifmatch-put-eval",
    "If-Match SHALL be evaluated before a PUT (RFC 9110 13.1.1): a stale ETag gets 412",
)
GET_ETAG = part4(
    ETAGS,
    "optimistic-locking-etags/get-etag-response",
    "GET of an item SHALL send an ETag representing its state",
)
POST_BODY = part4(
    CRD,
    "create-replace-delete/post-body",
    "The body of a POST SHALL be a representation of the item: anything else is refused "
    "with a 4xx (the draft names no status; a 2xx or 5xx is wrong by HTTP)",
)
PUT_MISSING = part4(
    CRD,
    "create-replace-delete/put-rid-exception",
    "PUT of an item that does not exist SHALL answer 404 (unless PUT may create items)",
)
DELETE_MISSING = part4(
    CRD,
    "delete/no-feature",
    "DELETE of an item that does not exist SHOULD answer 404",
    Level.RECOMMENDATION,
)
CHANGED = (200, 204)


async def _etag(t: Test, url: str) -> tuple[str | None, dict[str, Any] | None]:
    got, doc = await W.read(t, url)
    expect(doc is not None, f"GET {url}: the new item cannot be read (see part4/create)")
    return got.headers.get("etag"), doc


async def _put(t: Test, url: str, feature: dict[str, Any], etag: str) -> Any:
    headers = {"Content-Type": GEOJSON, "If-Match": etag}
    return await t.request("PUT", url, content=W.encoded(feature), headers=headers)


@W.part4_check(
    IF_MATCH_PUT,
    "part4/if-match-stale",
    "PUT with the current ETag succeeds; PUT with the ETag it replaced answers 412, "
    "changing nothing",
)
async def if_match_stale(t: Test) -> str:
    support = await W.writable(t, "put")
    sample = await W.sample(t)
    if sample.feature.get("geometry") is None:
        raise CheckSkipped("the item copied has no geometry to move between the two PUTs")
    url = await W.created(t, sample.feature)
    first, _ = await _etag(t, url)
    if first is None:
        if support.has_etags():
            t.requirement = GET_ETAG
        expect(not support.has_etags(), f"GET {url} sent no ETag")
        raise CheckSkipped(f"GET {url} sends no ETag: optimistic locking is not offered")
    if first.startswith("W/"):
        raise CheckSkipped(f"GET {url} sends a weak ETag ({first}): If-Match never matches one")
    moved = {**sample.feature, "geometry": W.shifted(sample.feature.get("geometry"))}
    fresh = await _put(t, url, moved, first)
    expect(
        fresh.status in CHANGED,
        f"PUT {url} with If-Match of the current ETag answered {fresh.status}, expected 200 or 204",
    )
    second, current = await _etag(t, url)
    if second == first:
        t.requirement = GET_ETAG
    expect(second != first, f"the ETag of {url} stayed {first} after the item changed")
    stale = {**moved, "geometry": W.shifted(moved.get("geometry"))}
    refused = await _put(t, url, stale, first)
    found = Problems()
    found.check(
        refused.status == 412,
        f"PUT {url} with the stale If-Match {first} answered {refused.status}, expected 412",
    )
    _, after = await W.read(t, url)
    if after is not None and current is not None:
        found.items.extend(
            f"the refused PUT changed the item: {d}" for d in W.differences(current, after)
        )
    found.raise_if_any()
    return "the current ETag was accepted, the stale one refused with 412 and nothing changed"


@W.part4_check(
    POST_BODY,
    "part4/create-invalid",
    "POST of a body that is not JSON, or JSON that is no feature, answers 4xx",
)
async def create_invalid(t: Test) -> str:
    await W.writable(t, "post")
    bodies = {
        "a body that is not JSON": b"this is not JSON {",
        "a JSON array": b'["not", "a", "feature"]',
        "a bare geometry": b'{"type": "Point", "coordinates": [0, 0]}',
    }
    found = Problems()
    url = api.items_url(t, t.collection)
    for what, body in bodies.items():
        got = await t.request("POST", url, content=body, headers={"Content-Type": GEOJSON})
        location = got.headers.get("location")
        if 200 <= got.status < 300 and location:
            gone = urljoin(got.url, location)
            t.ctx.cleanups.append(lambda u=gone: t.ctx.session.fetch("DELETE", u))
        found.check(400 <= got.status < 500, f"POST of {what} answered {got.status}, not 4xx")
    found.raise_if_any()
    return "every invalid body was refused with a 4xx"


@W.part4_check(
    PUT_MISSING,
    "part4/replace-missing",
    "PUT of an item that does not exist answers 404",
)
async def replace_missing(t: Test) -> str:
    await W.writable(t, "put")
    sample = await W.sample(t)
    entry = await api.collection_entry(t, t.collection)
    url = f"{api.items_url(t, t.collection)}/{W.missing_id()}"
    got = await t.request(
        "PUT", url, content=W.encoded(sample.feature), headers={"Content-Type": GEOJSON}
    )
    if 200 <= got.status < 300:
        t.ctx.cleanups.append(lambda: t.ctx.session.fetch("DELETE", url))
        if entry.get("supportsNonAutogeneratedResourceIds") is True:
            return f"PUT created the item ({got.status}): the collection lets PUT create items"
    expect(got.status == 404, f"PUT {url} answered {got.status}, expected 404")
    return "404"


@W.part4_check(
    DELETE_MISSING,
    "part4/delete-missing",
    "DELETE of an item that does not exist answers 404",
)
async def delete_missing(t: Test) -> str:
    await W.writable(t, "delete")
    url = f"{api.items_url(t, t.collection)}/{W.missing_id()}"
    got = await t.request("DELETE", url)
    expect(got.status == 404, f"DELETE {url} answered {got.status}, expected 404")
    return "404"
