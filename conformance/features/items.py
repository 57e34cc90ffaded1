"""Part 1 Core: the items resource and its response (A.2.7 Features; ETS Features,
FeaturesLimit, FeaturesBBox, FeaturesTime). OGC's ETS repeats the response tests on every
items response it fetched; so do these checks, over the "sample pages": the first page, one
page per `limit` value the ETS uses, one per bounding box and one per `datetime` value.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from conformance.context import Problems, Test, expect, expect_status
from conformance.features import api
from conformance.features import links as L
from conformance.features.collections import other_types, self_and_alternates
from conformance.features.itemvalues import bbox_param
from conformance.features.names import GEOJSON, core
from conformance.features.samples import cite_bboxes, cite_datetimes, limit_values
from conformance.geo import outside_crs84
from conformance.http import Fetched
from conformance.model import Blocked, CheckSkipped
from conformance.registry import FEATURES, check
from conformance.timeutil import parse_rfc3339

FC_OP = core("fc-op", "The server SHALL support GET at /collections/{collectionId}/items")
FC_RESPONSE = core(
    "fc-response",
    "The items response SHALL answer 200 and include only the features selected",
)
FC_LINKS = core(
    "fc-links",
    "An items response SHALL link to itself (self) and to its other representations (alternate)",
)
FC_REL_TYPE = core("fc-rel-type", "All links of an items response SHALL include rel and type")
FC_TIMESTAMP = core(
    "fc-timeStamp", "A timeStamp, if present, SHALL be the time the response was generated"
)
FC_NUMBER_MATCHED = core(
    "fc-numberMatched",
    "numberMatched, if present, SHALL be the number of features matching the selection",
)
FC_NUMBER_RETURNED = core(
    "fc-numberReturned", "numberReturned, if present, SHALL be the number of features returned"
)
CRS84_REQ = core(
    "crs84", "Unless another CRS is requested, geometries SHALL be in CRS84 (CRS84h with height)"
)
PAGING_LIMIT = 3  # next-link hops after the first, as in OGC's ETS (0..3 = 4 pages)
NUMBER_MATCHED_LIMIT = 10_000


async def sample_pages(t: Test) -> list[Fetched]:
    """The items responses the response checks look at (each fetched once per run)."""
    url = api.items_url(t, t.collection)
    variants: list[dict[str, str] | None] = [None]
    limits, _ = await limit_values(t)
    variants += [{"limit": str(n)} for n in limits]
    variants += [{"bbox": bbox_param(b)} for b in await cite_bboxes(t)]
    variants += [{"datetime": value} for value, _ in await cite_datetimes(t)]
    return list(
        await asyncio.gather(
            *(t.http.get(url, params=p, accept=GEOJSON, cache=True) for p in variants)
        )
    )


async def ok_pages(t: Test) -> list[tuple[Fetched, dict[str, Any]]]:
    """The sample pages that answered 200 with a JSON object."""
    found = []
    for page in await sample_pages(t):
        if page.status == 200:
            doc = page.json()
            if isinstance(doc, dict):
                found.append((page, doc))
    if not found:
        raise Blocked("not tested: no items request answered 200 (see /req/core/fc-op)")
    return found


@check(
    FC_OP,
    "core/fc-op",
    "GET /collections/{id}/items answers 200",
    suite=FEATURES,
    per_collection=True,
)
async def items_op(t: Test) -> str:
    expect_status(await api.first_page_fetch(t, t.collection), 200)
    return "200 OK"


@check(
    FC_RESPONSE,
    "core/fc-response",
    "items responses are FeatureCollections with features",
    suite=FEATURES,
    per_collection=True,
)
async def items_response(t: Test) -> str:
    found = Problems()
    pages = await ok_pages(t)
    for page, doc in pages:
        found.check(
            doc.get("type") == "FeatureCollection", f"{page.url}: type is {doc.get('type')!r}"
        )
        found.check(isinstance(doc.get("features"), list), f"{page.url}: no features array")
    found.raise_if_any()
    return f"{len(pages)} responses are FeatureCollections"


@check(
    CRS84_REQ,
    "core/crs84",
    "item geometries lie within CRS84 bounds",
    suite=FEATURES,
    per_collection=True,
)
async def items_in_crs84(t: Test) -> str:
    found = Problems()
    checked = 0
    for page, doc in await ok_pages(t):
        for f in api.features_of(doc)[:100]:
            checked += 1
            bad = outside_crs84(f.get("geometry"))
            found.check(bad is None, f"{page.url}: feature {f.get('id')!r} has position {bad}")
    found.raise_if_any("not CRS84")
    return f"{checked} geometries within lon -180..180, lat -90..90"


@check(
    FC_LINKS,
    "core/fc-links",
    "self and alternate links on items responses",
    suite=FEATURES,
    per_collection=True,
)
async def items_links(t: Test) -> str:
    found = Problems()
    others = await other_types(t, True)
    for page, doc in await ok_pages(t):
        scratch = Problems()
        self_and_alternates(doc, GEOJSON, others, page.url, scratch)
        for item in scratch.items:
            if "without rel or type" not in item:  # that is fc-rel-type
                found.add(item)
    found.raise_if_any()
    return "self and alternate links on every response"


@check(
    FC_REL_TYPE,
    "core/fc-rel-type",
    "every link has rel and type",
    suite=FEATURES,
    per_collection=True,
)
async def items_rel_type(t: Test) -> str:
    found = Problems()
    for page, doc in await ok_pages(t):
        for bad in L.missing_rel_or_type(L.links_of(doc)):
            found.add(f"{page.url}: {bad}")
    found.raise_if_any("links without rel or type")
    return "all links typed"


@check(
    FC_TIMESTAMP,
    "core/fc-timeStamp",
    "timeStamp is an RFC 3339 date-time (ETS check)",
    suite=FEATURES,
    per_collection=True,
)
async def items_timestamp(t: Test) -> str:
    pages = await ok_pages(t)
    stamped = [(p, d["timeStamp"]) for p, d in pages if "timeStamp" in d]
    if not stamped:
        raise CheckSkipped("the responses carry no timeStamp (allowed)")
    found = Problems()
    for page, value in stamped:
        found.check(parse_rfc3339(value), f"{page.url}: timeStamp {value!r} is not RFC 3339")
    found.raise_if_any()
    return f"{len(stamped)} valid timeStamps"


@check(
    FC_NUMBER_RETURNED,
    "core/fc-numberReturned",
    "numberReturned equals the features in the response",
    suite=FEATURES,
    per_collection=True,
)
async def items_number_returned(t: Test) -> str:
    pages = await ok_pages(t)
    counted = [(p, d) for p, d in pages if "numberReturned" in d]
    if not counted:
        raise CheckSkipped("the responses carry no numberReturned (allowed)")
    found = Problems()
    for page, doc in counted:
        n = len(doc.get("features") or [])
        found.check(
            doc["numberReturned"] == n,
            f"{page.url}: numberReturned is {doc['numberReturned']!r}, features has {n}",
        )
    found.raise_if_any()
    return f"numberReturned right on {len(counted)} responses"


def _ids(features: list[dict[str, Any]]) -> set[str]:
    return {str(f.get("id", i)) if "id" in f else f"#{id(f)}" for i, f in enumerate(features)}


def _valid_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


async def _reachable(t: Test, url: str, doc: dict[str, Any], maximum: int | None) -> int:
    """The ETS method from one response: the features reached by following up to four next
    links (asking for the declared maximum). Raises CheckSkipped where the pages cannot
    tell whether they hold all of numberMatched."""
    matched = doc["numberMatched"]
    if matched > NUMBER_MATCHED_LIMIT:
        raise CheckSkipped(f"numberMatched {matched} is above the ETS limit {NUMBER_MATCHED_LIMIT}")
    batch = api.features_of(doc)
    seen = _ids(batch)  # distinct ids: overlapping pages are fc-next-2's finding, not this one's
    asked = parse_qs(urlsplit(url).query).get("limit", [""])[0]
    if asked.isdigit():  # the page size this response was asked for, within the maximum
        page_size = min(int(asked), maximum) if maximum else int(asked)
    else:
        page_size = await api.limit_default(t, t.collection) or len(batch)
    for _ in range(PAGING_LIMIT + 1):
        nxt = api.next_link(doc, url)
        if nxt is None:
            break
        page = await t.get(nxt, params={"limit": str(maximum)} if maximum else None, accept=GEOJSON)
        expect_status(page, 200)
        doc, url = page.json_object(), page.url
        batch = api.features_of(doc)
        if not batch:
            break
        seen |= _ids(batch)
        page_size = maximum or len(batch)
    total = len(seen)
    if total < matched and api.next_link(doc, url) is None and len(batch) >= page_size:
        raise CheckSkipped(
            f"cannot verify: paging stopped on a full page after {total} of {matched} features "
            "without a next link (reported under /rec/core/fc-next-1)"
        )
    if total < matched and api.next_link(doc, url) is not None:
        raise CheckSkipped(f"cannot verify within {PAGING_LIMIT + 1} pages ({total} of {matched})")
    return total


def _selection(url: str) -> tuple[tuple[str, str], ...]:
    """The query of a sample response without its page size: responses that share it
    select the same features, so they must report the same numberMatched."""
    return tuple(sorted((k, v) for k, v in parse_qsl(urlsplit(url).query) if k != "limit"))


@check(
    FC_NUMBER_MATCHED,
    "core/fc-numberMatched",
    "numberMatched equals the features reachable in up to 4 pages, on every sample response "
    "(ETS method)",
    suite=FEATURES,
    per_collection=True,
)
async def items_number_matched(t: Test) -> str:
    """The ETS pages from each response; responses of one selection (the first page and
    the `limit` ones) reach the same features, so the paging is done once per selection,
    from its largest page, and each response's numberMatched compared with it."""
    counted = [(p, d) for p, d in await ok_pages(t) if "numberMatched" in d]
    if not counted:
        raise CheckSkipped("the responses carry no numberMatched (allowed)")
    _, maximum = await limit_values(t)
    found, skipped, verified = Problems(), [], 0
    groups: dict[tuple[tuple[str, str], ...], list[tuple[Fetched, dict[str, Any]]]] = {}
    for page, doc in counted:
        if found.check(
            _valid_count(doc["numberMatched"]),
            f"{page.url}: numberMatched is {doc['numberMatched']!r}",
        ):
            groups.setdefault(_selection(page.url), []).append((page, doc))
    for members in groups.values():
        page, doc = max(members, key=lambda m: len(api.features_of(m[1])))
        try:
            total = await _reachable(t, page.url, doc, maximum)
        except CheckSkipped as why:
            skipped.append(str(why))
            continue
        for page, doc in members:
            verified += 1
            matched = doc["numberMatched"]
            found.check(
                matched == total,
                f"{page.url}: numberMatched is {matched}, {total} features are reachable",
            )
    found.raise_if_any()
    if not verified:
        raise CheckSkipped(skipped[0])
    return f"numberMatched right on {verified} responses" + (
        f" ({len(skipped)} could not be verified)" if skipped else ""
    )


@check(
    FC_TIMESTAMP,
    "core/fc-timeStamp-window",
    "timeStamp falls within the time the request was answered",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def items_timestamp_window(t: Test) -> str:
    from datetime import UTC, datetime, timedelta
    from email.utils import parsedate_to_datetime

    before = datetime.now(UTC)
    page = await t.get(api.items_url(t, t.collection), params={"limit": "1"}, accept=GEOJSON)
    after = datetime.now(UTC)
    expect_status(page, 200)
    value = page.json_object().get("timeStamp")
    if value is None:
        raise CheckSkipped("the response carries no timeStamp (allowed)")
    stamp = parse_rfc3339(value)
    if stamp is None:
        raise Blocked(f"not tested: timeStamp {value!r} is not RFC 3339 (see fc-timeStamp)")
    slack, basis = timedelta(seconds=2), "this machine's clock"
    try:  # compare with the server's own clock where it tells it
        server = parsedate_to_datetime(page.headers["date"])
        skew = server - (before + (after - before) / 2)
        before, after, basis = before + skew, after + skew, "the response's Date header"
        slack = timedelta(seconds=3)
    except (KeyError, TypeError, ValueError):
        slack = timedelta(seconds=60)
    age = page.headers.get("age", "")  # a kept answer was generated Age seconds ago
    if age.isdigit():
        before -= timedelta(seconds=int(age))
        basis += f" and its Age of {age} s"
    expect(
        before - slack <= stamp <= after + slack,
        f"timeStamp {value} is not the time of the response (by {basis}: "
        f"{before.isoformat(timespec='seconds')} .. {after.isoformat(timespec='seconds')})",
    )
    return f"timeStamp {value} within the response window ({basis})"
