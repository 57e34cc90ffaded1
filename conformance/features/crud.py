"""OGC API – Features Part 4 (draft 20-002r1): create, replace, update and delete, only with
--allow-writes and only on collections that take writes (conformance/features/writes.py).
Each check creates its own item (a copy of a real one), so checks running at once never
see each other's changes; every item created is deleted at the end of the run."""

from __future__ import annotations

from typing import Any

from conformance.context import Problems, Test, expect
from conformance.features import api
from conformance.features import writes as W
from conformance.features.names import CREATE_REPLACE_DELETE, GEOJSON, UPDATE, part4
from conformance.http import Fetched
from conformance.model import CheckSkipped

CRD = CREATE_REPLACE_DELETE
POST_RESPONSE = part4(
    CRD,
    "create-replace-delete/post-response",
    "POST SHALL answer 201 with a Location header naming the new item",
)
PUT_RESPONSE = part4(
    CRD, "create-replace-delete/put-response", "A successful PUT SHALL answer 200 or 204"
)
PATCH_RESPONSE = part4(
    UPDATE, "update/update-patch-response", "A successful PATCH SHALL answer 200 or 204"
)
DELETE_RESPONSE = part4(
    CRD, "create-replace-delete/delete-response", "A successful DELETE SHALL answer 200 or 204"
)
DONE = (200, 204)


def _queued(got: Fetched) -> None:
    """202: the draft allows a queued write, whose outcome this suite cannot wait for."""
    if got.status == 202:
        raise CheckSkipped(f"{got.method} {got.url} was queued (202): its result is not checked")


async def _read_back(t: Test, url: str, expected: dict[str, Any], what: str) -> list[str]:
    got, doc = await W.read(t, url)
    if doc is None:
        return [f"GET {url} after {what} answered {got.status}"]
    return [f"after {what}: {d}" for d in W.differences(expected, doc)]


@W.part4_check(
    POST_RESPONSE,
    "part4/create",
    "POST of a copy of an item answers 201; its Location reads back what was sent",
)
async def create(t: Test) -> str:
    await W.writable(t, "post")
    sample = await W.sample(t)
    got, location = await W.post(t, sample.feature)
    _queued(got)
    found = Problems()
    said = f": {got.evidence.excerpt[:200]}" if got.status >= 400 else ""
    found.check(got.status == 201, f"POST {got.url} answered {got.status}, expected 201{said}")
    found.check(location, f"POST {got.url} answered {got.status} without a Location header")
    if location:
        items = api.items_url(t, t.collection)
        found.check(
            location.split("?")[0].startswith(items + "/"),
            f"Location {location} is not below {items}/",
        )
        found.items.extend(await _read_back(t, location, sample.feature, "POST"))
    found.raise_if_any()
    left = f" (read-only, so null or left out: {', '.join(sorted(sample.read_only))})"
    return f"created {location}{left if sample.read_only else ''}"


def _replacement(sample: W.Sample) -> tuple[dict[str, Any], str]:
    """The copy with its geometry moved and one property changed, and what changed."""
    feature = {**sample.feature, "geometry": W.shifted(sample.feature.get("geometry"))}
    changed = ["geometry moved"] if feature["geometry"] is not None else []
    if sample.alternative is not None:
        name, value = sample.alternative
        feature["properties"] = {**feature["properties"], name: value}
        changed.append(f"{name} set to {value!r}")
    if not changed:
        raise CheckSkipped("nothing to change: no geometry and no property with other values")
    return feature, ", ".join(changed)


@W.part4_check(
    PUT_RESPONSE,
    "part4/replace",
    "PUT answers 200 or 204 and GET returns the replacement",
)
async def replace(t: Test) -> str:
    await W.writable(t, "put")
    sample = await W.sample(t)
    url = await W.created(t, sample.feature)
    feature, changed = _replacement(sample)
    got = await t.request("PUT", url, content=W.encoded(feature), headers={"Content-Type": GEOJSON})
    _queued(got)
    expect(got.status in DONE, f"PUT {url} answered {got.status}, expected 200 or 204")
    found = Problems()
    found.items.extend(await _read_back(t, url, feature, "PUT"))
    found.raise_if_any()
    return f"replaced ({changed})"


@W.part4_check(
    PATCH_RESPONSE,
    "part4/update",
    "PATCH (JSON Merge Patch) changes one property; the others and the geometry stay",
)
async def update(t: Test) -> str:
    support = await W.writable(t, "patch")
    if not support.has_update():
        raise CheckSkipped(f"'{t.collection}' does not declare {UPDATE.uri}")
    sample = await W.sample(t)
    if sample.alternative is None:
        raise CheckSkipped("no property takes another value on another item: nothing to patch")
    url = await W.created(t, sample.feature)
    _, before = await W.read(t, url)
    expect(before is not None, f"GET {url}: the new item cannot be read (see part4/create)")
    assert before is not None
    name, value = sample.alternative
    patch = {"properties": {name: value}}
    got = await t.request(
        "PATCH", url, content=W.encoded(patch), headers={"Content-Type": W.MERGE_PATCH}
    )
    _queued(got)
    expect(got.status in DONE, f"PATCH {url} answered {got.status}, expected 200 or 204")
    expected = {**before, "properties": {**(before.get("properties") or {}), name: value}}
    found = Problems()
    found.items.extend(await _read_back(t, url, expected, "PATCH"))
    found.raise_if_any()
    return f"PATCH set {name} to {value!r}; nothing else changed"


@W.part4_check(
    DELETE_RESPONSE,
    "part4/delete",
    "DELETE answers 200 or 204, then GET of the item answers 404",
)
async def delete(t: Test) -> str:
    await W.writable(t, "delete")
    sample = await W.sample(t)
    url = await W.created(t, sample.feature)
    got = await t.request("DELETE", url)
    _queued(got)
    expect(got.status in DONE, f"DELETE {url} answered {got.status}, expected 200 or 204")
    after = await t.get(url, accept=GEOJSON)
    expect(
        after.status in (404, 410),
        f"GET {url} after DELETE answered {after.status}, expected 404: the item is still there",
    )
    return f"deleted; GET then answered {after.status}"
