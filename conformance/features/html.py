"""Part 1 HTML requirements class: every resource in text/html, as HTML 5 documents that
carry the resource's links as <a> elements (OGC's ETS has no HTML tests beyond links)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from conformance.context import Problems, Test
from conformance.features import api
from conformance.features import links as L
from conformance.features.feature import feature_url
from conformance.features.names import HTML, HTML_CLASS, part1
from conformance.registry import FEATURES, check

HTML_DEFINITION = part1(
    HTML_CLASS, "html/definition", "Every 200 response SHALL support the media type text/html"
)
HTML_CONTENT = part1(
    HTML_CLASS,
    "html/content",
    "text/html responses SHALL be HTML 5 documents with the resource's information and all "
    "its links as <a> elements in the body",
)
NEEDS_HTML = (HTML_CLASS.uri,)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.in_body = False
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "body":
            self.in_body = True
        if tag == "a" and self.in_body:
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def _normal(url: str) -> str:
    """Compare links without the format switch `f` and trailing slashes."""
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query) if k != "f")
    return f"{parts.netloc}{parts.path.rstrip('/')}?{urlencode(query)}"


async def _pages(t: Test) -> list[str]:
    return [
        t.ctx.target,
        t.ctx.url("/conformance"),
        t.ctx.url("/collections"),
        api.collection_url(t, t.collection),
        api.items_url(t, t.collection),
        await feature_url(t),
    ]


@check(
    HTML_DEFINITION,
    "html/definition",
    "landing, conformance, collections, collection, items and feature in text/html",
    suite=FEATURES,
    needs=NEEDS_HTML,
    per_collection=True,
    beyond_cite=True,
)
async def html_definition(t: Test) -> str:
    found = Problems()
    for url in await _pages(t):
        got = await t.get(url, accept=HTML, cache=True)
        found.check(
            got.status == 200 and got.media_type == HTML,
            f"{url} with Accept: text/html answered {got.status} {got.media_type!r}",
        )
    found.raise_if_any()
    return "six resources served as text/html"


@check(
    HTML_CONTENT,
    "html/content",
    "the HTML pages are HTML 5 and show the JSON representation's links",
    suite=FEATURES,
    needs=NEEDS_HTML,
    per_collection=True,
    beyond_cite=True,
)
async def html_content(t: Test) -> str:
    found = Problems()
    for url in await _pages(t):
        page = await t.get(url, accept=HTML, cache=True)
        as_json = await t.get(url, accept="application/json, application/geo+json", cache=True)
        if page.status != 200 or as_json.status != 200:
            continue
        text = page.text.lstrip("\ufeff \t\r\n")
        found.check(text[:15].lower() == "<!doctype html>", f"{url}: no <!DOCTYPE html>")
        parser = _Anchors()
        parser.feed(page.text)
        found.check({"html", "body"} <= parser.tags, f"{url}: no <html> or <body>")
        anchors = {_normal(urljoin(page.url, h)) for h in parser.hrefs}
        for link in L.links_of(as_json.json()):
            if link.get("rel") in ("self", "alternate") or not isinstance(link.get("href"), str):
                continue
            target = _normal(L.resolve(link, as_json.url))
            found.check(target in anchors, f"{url}: no <a> for {L.describe(link)}")
    found.raise_if_any()
    return "HTML 5 pages carrying their links"
