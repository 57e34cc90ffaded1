"""Paging styles of REST APIs, as URLs: where a read starts, and which URL follows a page.

Every style is a chain of URLs, so one walker (connectors/ogcapi/pages.Walk, with its memo
of positions for link-like styles) reads them all:
- `offset`: offset/limit parameters; the next offset advances by the records received
  (an API that caps the page size below `page_size` is still read completely);
- `page`: page/size parameters (first page 0 or 1); the page index needs a fixed size, so a
  short page is followed by one probe: a probe that is not empty means the API's largest
  page is smaller than `page_size`, an error naming the fix, never a silent truncation;
- `next_link`: a URL at a path of the body; `link_header`: a `Link` header with rel=next;
  both resolved against the page's URL and followed only below the configured base;
- `cursor`: a value at a path of the body, sent back as a parameter;
- `none`: one request.
A page with no records ends every style; a `total` ends the counted styles at that number.
A page whose body equals the one before fails the read: the API ignores the paging
parameters (a misconfigured `paging`), which would otherwise be read forever.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from connectors import paths
from connectors.errors import SourceError
from connectors.remote.http import HttpAnswer, HttpEndpoint
from connectors.rest.config import RestConfig
from connectors.rest.request import params_of, with_params

_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)
_KEPT = 1024  # URLs remembered for the probe and repetition checks


class Pager:
    def __init__(self, config: RestConfig, endpoint: HttpEndpoint) -> None:
        self.config = config
        self.paging = config.paging
        self.endpoint = endpoint
        self.size = config.page_size
        self._next_path = paths.parse(config.paging.next_path or "x")
        self._cursor_path = paths.parse(config.paging.cursor_path or "x")
        self._probes: OrderedDict[str, None] = OrderedDict()
        self._before: OrderedDict[str, int] = OrderedDict()  # next URL -> its page's digest

    @property
    def direct(self) -> bool:
        """Does a deep position cost one request (not a walk from the first page)?"""
        return self.paging.style in ("offset", "page")

    def start(self, url: str, offset: int, wanted: int | None) -> tuple[int, str]:
        """(position, URL) to read from for `offset`; `wanted`: records needed from there
        (None: all). Link-like styles always start at position 0."""
        p, size = self.paging, self.size
        if p.style == "offset":
            count = size if wanted is None else max(1, min(size, wanted))
            params = {p.offset_param: str(offset)}
            if p.limit_param:
                params[p.limit_param] = str(count)
            return offset, with_params(url, params)
        if p.style == "page":
            index = offset // size
            params = {p.page_param: str(p.first_page + index), p.size_param: str(size)}
            return index * size, with_params(url, params)
        if p.style != "none" and p.limit_param:
            count = size if wanted is None else max(1, min(size, offset + wanted))
            return 0, with_params(url, {p.limit_param: str(count)})
        return 0, url

    def next_url(
        self, url: str, answer: HttpAnswer, doc: Any, received: int, total: int | None
    ) -> str | None:
        """The URL of the page after the one read from `url` (None: it was the last)."""
        digest = hash(answer.content)
        if self._before.pop(url, None) == digest and received:
            raise SourceError(
                f"{self.endpoint.name}: the API answered the next page as the one before: "
                "it ignores the paging parameters (check `paging`)"
            )
        following = self._next(url, doc, answer.headers, received, total)
        if following is not None:
            self._remember(self._before, following, digest)
        return following

    def _next(
        self, url: str, doc: Any, headers: httpx.Headers, received: int, total: int | None
    ) -> str | None:
        if url in self._probes:
            self._probes.pop(url)
            if received:
                raise SourceError(
                    f"{self.endpoint.name}: the API gave a short page before the end; its "
                    f"largest page is smaller than page_size ({self.size}): lower page_size"
                )
        if received == 0:
            return None
        style = self.paging.style
        if style in ("offset", "page"):
            return self._counted(url, received, total)
        if style == "next_link":
            href = paths.get(doc, self._next_path)
            return self._checked(url, href) if isinstance(href, str) and href else None
        if style == "link_header":
            href = next_link(headers.get_list("link"))
            return self._checked(url, href) if href else None
        if style == "cursor":
            cursor = paths.get(doc, self._cursor_path)
            if isinstance(cursor, bool) or not isinstance(cursor, str | int) or cursor == "":
                return None
            return with_params(url, {self.paging.cursor_param: str(cursor)})
        return None

    def _counted(self, url: str, received: int, total: int | None) -> str | None:
        """The next URL of the offset and page styles, which count records."""
        p = self.paging
        if p.style == "offset":
            done = int(params_of(url).get(p.offset_param, "0") or 0) + received
            if total is not None and done >= total:
                return None
            return with_params(url, {p.offset_param: str(done)})
        page = int(params_of(url).get(p.page_param, str(p.first_page)))
        done = (page - p.first_page) * self.size + received
        if total is not None and done >= total:
            return None
        following = with_params(url, {p.page_param: str(page + 1)})
        if received < self.size:
            self._probe(following)
        return following

    def _probe(self, url: str) -> None:
        self._remember(self._probes, url, None)

    @staticmethod
    def _remember(kept: OrderedDict[str, Any], url: str, value: Any) -> None:
        kept[url] = value
        kept.move_to_end(url)
        while len(kept) > _KEPT:
            kept.popitem(last=False)

    def _checked(self, url: str, href: str) -> str:
        target = urljoin(url, href)
        segments = urlsplit(target).path.split("/")
        name = self.endpoint.name
        if not self.endpoint.owns(target) or ".." in segments or "." in segments:
            raise SourceError(f"{name}: the API's next link {target[:200]} leaves its base")
        if target == url:
            raise SourceError(f"{name}: the API's next link is the page itself")
        return target


def next_link(values: list[str]) -> str | None:
    """The rel=next target of `Link` header values (RFC 8288), if any."""
    for value in values:
        for match in _LINK.finditer(value):
            for rel in _REL.finditer(match.group(2)):
                names = (rel.group(1) or rel.group(2) or "").lower().split()
                if "next" in names:
                    return match.group(1).strip()
    return None


__all__ = ["Pager", "next_link"]
