"""Reading an upstream's item pages: one page at a time, by its own `next` links.

An upstream page is checked before anything of it is used: a 2xx JSON answer holding a
FeatureCollection, a `next` link (resolved against the page's URL) that stays below the
configured endpoint and is not the page itself. Anything else fails the call as the
upstream's fault (SourceError, 502); a 4xx is the upstream refusing the query we sent
(SourceRefused), never retried as another query.

`LinkMemo` remembers where the upstream's links led: per query (its URL without paging
parameters), the position a `next` link starts at, with the few records of the last page the
gateway has not used yet. A client paging through the gateway asks for the page after the
last one, which then costs one upstream request, not a walk from the start.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson

from connectors.base import Record
from connectors.errors import SourceError, SourceRefused
from connectors.remote.http import HttpAnswer, HttpEndpoint

JSON_TYPES = ("application/json", "application/geo+json", "application/schema+json")
CARRY = 16  # most leftover records remembered with a link (memory: 128 × 8 × 16 at worst)


@dataclass(frozen=True)
class Page:
    records: list[Record]
    next_url: str | None
    number_matched: int | None


@dataclass(frozen=True)
class Resume:
    """A position in an upstream result: the records there, then the page at `url`."""

    url: str | None
    carry: tuple[Record, ...]
    number_matched: int | None = None


class LinkMemo:
    """Positions the upstream's links lead to, per query, least recently used dropped."""

    def __init__(self, queries: int = 128, positions: int = 8) -> None:
        self._queries: OrderedDict[str, OrderedDict[int, Resume]] = OrderedDict()
        self._max_queries, self._max_positions = queries, positions

    def nearest(self, key: str, offset: int) -> tuple[int, Resume] | None:
        known = self._queries.get(key)
        if not known:
            return None
        self._queries.move_to_end(key)
        best = max((p for p in known if p <= offset), default=None)
        return None if best is None else (best, known[best])

    def remember(self, key: str, position: int, resume: Resume) -> None:
        known = self._queries.setdefault(key, OrderedDict())
        self._queries.move_to_end(key)
        known[position] = resume
        known.move_to_end(position)
        while len(known) > self._max_positions:
            known.popitem(last=False)
        while len(self._queries) > self._max_queries:
            self._queries.popitem(last=False)


def json_doc(answer: HttpAnswer, source: str, url: str) -> Any:
    """The JSON body of a 2xx answer, or the upstream's fault / refusal as an error."""
    if answer.status >= 500 or 300 <= answer.status < 400:
        raise SourceError(f"{source}: the upstream answered {answer.status} for {url}")
    if answer.status >= 400:
        raise SourceRefused(answer.status, f"{source}: {_message(answer.content)}")
    kind = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in JSON_TYPES and not (kind.startswith("application/") and kind.endswith("+json")):
        raise SourceError(f"{source}: the upstream answered '{kind or 'no type'}', not JSON")
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        raise SourceError(f"{source}: the upstream's answer is not valid JSON") from None


def _message(content: bytes) -> str:
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError:
        return "refused upstream"
    if isinstance(doc, dict):
        text = doc.get("description") or doc.get("detail") or doc.get("code")
        if isinstance(text, str):
            return text[:300]
    return "refused upstream"


def record(feature: Any) -> Record:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    props = feature.get("properties")
    geometry = feature.get("geometry")
    if props is not None and not isinstance(props, dict):
        raise ValueError("properties not an object")
    if geometry is not None and not isinstance(geometry, dict):
        raise ValueError("geometry not an object")
    return {"id": feature.get("id"), "properties": props or {}, "geometry": geometry}


def parse_page(answer: HttpAnswer, endpoint: HttpEndpoint, url: str) -> Page:
    doc = json_doc(answer, endpoint.name, url)
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or doc.get("type") != "FeatureCollection":
        raise SourceError(f"{endpoint.name}: the upstream's page is not a FeatureCollection")
    try:
        records = [record(f) for f in features]
    except ValueError as e:
        raise SourceError(f"{endpoint.name}: a feature of the upstream's page: {e}") from None
    matched = doc.get("numberMatched")
    if not isinstance(matched, int) or isinstance(matched, bool) or matched < 0:
        matched = None
    return Page(records, next_link(doc, endpoint, url), matched)


def next_link(doc: dict[str, Any], endpoint: HttpEndpoint, url: str) -> str | None:
    """The page's `next` link (GeoJSON preferred), checked to stay below the endpoint."""
    found = [
        link
        for link in doc.get("links") or ()
        if isinstance(link, dict)
        and link.get("rel") == "next"
        and isinstance(link.get("href"), str)
    ]
    if not found:
        return None
    found.sort(key=lambda link: link.get("type") not in ("application/geo+json", None))
    target = urljoin(url, found[0]["href"])
    segments = urlsplit(target).path.split("/")
    if not endpoint.owns(target) or ".." in segments or "." in segments:
        raise SourceError(f"{endpoint.name}: the upstream's next link leaves the endpoint")
    if target == url:
        raise SourceError(f"{endpoint.name}: the upstream's next link is the page itself")
    return target


class Walk:
    """Records from a position on: carried ones, then page after page by `next` links.
    `offset`: the first position wanted; `limit`: how many (None: to the end)."""

    def __init__(
        self,
        fetch: Callable[[str], Any],
        position: int,
        resume: Resume,
        offset: int,
        limit: int | None,
        keep: Callable[[Record], bool] | None = None,
    ) -> None:
        self.fetch = fetch
        self.position = position
        self.buffer: deque[Record] = deque(resume.carry)
        self.next_url = resume.url
        self.number_matched = resume.number_matched
        self.offset, self.limit, self.keep = offset, limit, keep
        self.emitted = 0
        self.last: tuple[int, Record] | None = None

    async def prime(self) -> None:
        """Read the first page now, so that errors and numberMatched come before records."""
        if not self.buffer and self.next_url is not None:
            await self._page()

    async def _page(self) -> None:
        assert self.next_url is not None
        page: Page = await self.fetch(self.next_url)
        self.buffer.extend(page.records)
        self.next_url = page.next_url
        if page.number_matched is not None:
            self.number_matched = page.number_matched
        if not page.records:
            self.next_url = None  # an empty page ends the result whatever its links say

    async def records(self) -> AsyncIterator[Record]:
        keep = self.keep
        while self.limit is None or self.emitted < self.limit:
            if not self.buffer:
                if self.next_url is None:
                    return
                await self._page()
                continue
            item = self.buffer.popleft()
            if keep is not None and not keep(item):
                continue
            position = self.position
            self.position += 1
            if position < self.offset:
                continue
            self.emitted += 1
            self.last = (position, item)
            yield item

    def resumes(self) -> list[tuple[int, Resume]]:
        """Where this walk stopped, to remember: at its last record and just after it."""
        if self.last is None or len(self.buffer) >= CARRY:
            return []
        position, item = self.last
        rest = tuple(self.buffer)
        return [
            (position, Resume(self.next_url, (item, *rest), self.number_matched)),
            (position + 1, Resume(self.next_url, rest, self.number_matched)),
        ]


__all__ = ["CARRY", "LinkMemo", "Page", "Resume", "Walk", "json_doc", "next_link", "parse_page"]
