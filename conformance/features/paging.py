"""Paging beyond OGC's ETS (which follows at most four `next` links and never looks at
`prev`): walk a collection to its end in about 20 pages and check the recommendations on
`next` links, the permission on `prev` links and `numberMatched` against the whole walk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from conformance.context import Problems, Test, expect
from conformance.features import api
from conformance.features import links as L
from conformance.features.items import FC_NUMBER_MATCHED
from conformance.features.itemvalues import quadrant_box
from conformance.features.names import GEOJSON, core
from conformance.http import Probe
from conformance.model import CheckSkipped, Level
from conformance.registry import FEATURES, check

NEXT_1 = core(
    "fc-next-1",
    "A response SHOULD link to the next page (rel next) when more features were selected "
    "than returned",
    Level.RECOMMENDATION,
)
NEXT_2 = core(
    "fc-next-2",
    "Dereferencing a next link SHOULD return features of the selection not returned yet",
    Level.RECOMMENDATION,
)
NEXT_3 = core(
    "fc-next-3",
    "A response to a next link SHOULD follow the rules of the original query (page size, "
    "next link while more remain)",
    Level.RECOMMENDATION,
)
PREV = core(
    "fc-prev",
    "A response to a next link MAY link back (rel prev) to the response that linked to it",
    Level.PERMISSION,
)
MAX_PAGES = 60


@dataclass
class Page:
    url: str
    status: int
    ids: list[str]
    number_matched: Any
    next_url: str | None
    prev_url: str | None
    problem: str = ""


@dataclass
class Walk:
    size: int
    total: int  # features the selection holds (numberMatched, or all items read)
    pages: list[Page] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return sum(len(p.ids) for p in self.pages)


def _link(doc: dict[str, Any], rel: str, base: str) -> str | None:
    found = L.find(L.links_of(doc), rel)
    typed = [x for x in found if L.base_type(x.get("type")) in (GEOJSON, "application/json")]
    chosen = (typed or found or [None])[0]
    if chosen is None or not isinstance(chosen.get("href"), str):
        return None
    return L.resolve(chosen, base)


async def _walk(probe: Probe, url: str, size: int, total: int) -> Walk:
    walk = Walk(size, total)
    current: str | None = url
    params: dict[str, str] | None = {"limit": str(size)}
    while current and len(walk.pages) < MAX_PAGES:
        got = await probe.get(current, params=params, accept=GEOJSON)
        params = None
        if got.status != 200:
            walk.pages.append(Page(got.url, got.status, [], None, None, None, "no 200"))
            break
        doc = got.json_object()
        ids = [str(f.get("id")) for f in api.features_of(doc)]
        page = Page(
            got.url,
            200,
            ids,
            doc.get("numberMatched"),
            _link(doc, "next", got.url),
            _link(doc, "prev", got.url),
        )
        walk.pages.append(page)
        if not ids:
            break
        current = page.next_url
    return walk


async def walk(t: Test) -> Walk:
    """The collection read page by page via next links (once per run)."""
    everything = await api.all_items(t, t.collection)
    if everything.complete:
        total = len(everything.features)
    else:
        matched = (await api.first_page(t, t.collection)).get("numberMatched")
        if not isinstance(matched, int):
            raise CheckSkipped(f"not tested: the number of items is unknown ({everything.note})")
        total = matched
    if total < 2:
        raise CheckSkipped(f"the collection holds {total} feature(s): nothing to page through")
    maximum = await api.limit_maximum(t, t.collection)
    size = max(1, math.ceil(total / 20)) if total > 40 else max(1, total // 3)
    size = min(size, maximum) if maximum else size
    if total % size == 0 and (not maximum or size < maximum):
        size += 1  # a last page that is not full marks the end without doubt
    url = api.items_url(t, t.collection)
    return await t.http.memo(("walk", t.collection), lambda p: _walk(p, url, size, total))


@check(
    NEXT_1,
    "core/fc-next-1",
    "every page short of the end links to the next one",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def next_links_present(t: Test) -> str:
    w = await walk(t)
    seen = 0
    for i, page in enumerate(w.pages):
        seen += len(page.ids)
        if page.status == 200 and seen < w.total and page.ids:
            expect(
                page.next_url is not None,
                f"page {i + 1} ({page.url}) brings the count to {seen} of {w.total} features "
                "but has no next link",
            )
    return f"{len(w.pages)} pages of {w.size}, each short of the end links onwards"


@check(
    NEXT_2,
    "core/fc-next-2",
    "next links lead to features not returned before",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def next_links_new_features(t: Test) -> str:
    w = await walk(t)
    found = Problems()
    seen: dict[str, int] = {}
    for i, page in enumerate(w.pages):
        found.check(page.status == 200, f"page {i + 1} ({page.url}) answered {page.status}")
        for fid in page.ids:
            if fid in seen:
                found.add(f"feature {fid} on page {i + 1} was already on page {seen[fid] + 1}")
            seen.setdefault(fid, i)
        if i > 0 and not page.ids and i < len(w.pages) - 1:
            found.add(f"page {i + 1} ({page.url}) is empty")
    found.raise_if_any()
    return f"{len(seen)} distinct features over {len(w.pages)} pages"


@check(
    NEXT_3,
    "core/fc-next-3",
    "pages reached by next links keep the page size",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def next_pages_follow_rules(t: Test) -> str:
    w = await walk(t)
    found = Problems()
    for i, page in enumerate(w.pages[1:], start=2):
        found.check(
            len(page.ids) <= w.size,
            f"page {i} ({page.url}) has {len(page.ids)} features, the limit was {w.size}",
        )
    found.raise_if_any()
    return f"every page holds at most {w.size} features"


@check(
    FC_NUMBER_MATCHED,
    "core/fc-numberMatched-paged",
    "numberMatched equals the features reached by paging to the end, unfiltered and with bbox",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def number_matched_paged(t: Test) -> str:
    first = await api.first_page(t, t.collection)
    matched = first.get("numberMatched")
    if matched is None:
        raise CheckSkipped("the responses carry no numberMatched (allowed)")
    w = await walk(t)
    last = w.pages[-1]
    if last.next_url is not None or last.status != 200:
        raise CheckSkipped(f"not tested: the walk ended after {len(w.pages)} pages without an end")
    distinct = len({fid for p in w.pages for fid in p.ids})
    if len(last.ids) >= w.size and distinct < max(matched, w.total):
        raise CheckSkipped("not tested: paging stopped on a full page (reported under fc-next-1)")
    found = Problems()
    found.check(distinct == matched, f"numberMatched is {matched}, paging reached {distinct}")
    changed = {str(p.number_matched) for p in w.pages if p.status == 200} - {str(matched)}
    found.check(not changed, f"numberMatched changes while paging: {sorted(changed)}")
    box = await quadrant_box(t)
    if box is not None:
        part = await api.all_items(t, t.collection, {"bbox": box.param})
        if part.complete and part.number_matched is not None:
            found.check(
                part.number_matched == len(part.features),
                f"bbox={box.param}: numberMatched {part.number_matched}, "
                f"{len(part.features)} features returned",
            )
    found.raise_if_any()
    return f"numberMatched {matched} = features reached over {len(w.pages)} pages"


@check(
    PREV,
    "core/fc-prev",
    "prev links lead back to the page that linked forward",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def prev_links(t: Test) -> str:
    w = await walk(t)
    pairs = [(w.pages[i - 1], w.pages[i]) for i in range(1, min(len(w.pages), 4))]
    pairs = [(before, page) for before, page in pairs if page.prev_url]
    if not pairs:
        raise CheckSkipped("no prev links (permitted, not required)")
    found = Problems()
    for before, page in pairs:
        back = await t.get(page.prev_url, accept=GEOJSON)  # type: ignore[arg-type]
        if not found.check(back.status == 200, f"prev of {page.url} answered {back.status}"):
            continue
        ids = [str(f.get("id")) for f in api.features_of(back.json_object())]
        found.check(
            ids == before.ids,
            f"prev of {page.url} has features {ids[:3]}…, the page before had {before.ids[:3]}…",
        )
    found.raise_if_any()
    return f"{len(pairs)} prev link(s) lead back to the previous page"
