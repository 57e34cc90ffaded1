"""Walk an OGC API – Features collection's items over HTTP, page by page along its `next`
links, and feed every feature to the data-quality computation.

This is the client side (`twinbridge quality URL`): it fetches the URLs the server hands
out, as any client does. Every request has a timeout and a body-size cap; the walk stops
at `max_items`, at a `next` link seen before (a server that loops), or at the first
failing page, and says why, so a report is never silently short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import orjson

from gateway.quality.accumulator import QualityAccumulator
from profiles import Profile

USER_AGENT = "TwinBridge-quality/0.1"
GEOJSON = "application/geo+json"


class WalkError(Exception):
    """A page could not be read: the walk ends and the report says so."""


@dataclass
class Walk:
    """How far a walk got: what it read and why it stopped."""

    url: str
    pages: int = 0
    items: int = 0
    number_matched: int | None = None
    complete: bool = False
    stopped: str = ""
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    seconds: float = 0.0


Progress = Callable[[Walk], None]


def items_url(url: str, collection: str) -> str:
    """The items URL: `url` itself when it already names items or a collection, else the
    collection's items under the landing page `url`."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/items"):
        return urlunsplit(parts._replace(path=path))
    if "/collections/" not in path:
        path = f"{path}/collections/{collection}"
    return urlunsplit(parts._replace(path=f"{path}/items"))


def with_limit(url: str, limit: int) -> str:
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and not p.startswith(("limit=", "f="))]
    query = "&".join([*kept, urlencode({"limit": limit, "f": "json"})])
    return urlunsplit(parts._replace(query=query))


def next_link(doc: dict[str, Any]) -> str | None:
    links = doc.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return str(link["href"])
    return None


async def fetch_page(client: httpx.AsyncClient, url: str, timeout: float, max_bytes: int) -> Any:
    """One page as JSON; any failure is a WalkError naming the URL."""
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, headers={"Accept": GEOJSON}) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise WalkError(f"GET {url}: body larger than {max_bytes} bytes")
    except TimeoutError:
        raise WalkError(f"GET {url}: no complete answer within {timeout:g} s") from None
    except httpx.HTTPError as e:
        raise WalkError(f"GET {url}: {type(e).__name__}: {e}") from None
    if response.status_code != 200:
        raise WalkError(f"GET {url} answered {response.status_code}: {bytes(body[:200])!r}")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise WalkError(f"GET {url}: the body is not JSON ({e})") from None


@dataclass
class WalkOptions:
    page_size: int = 1000
    max_items: int = 0  # 0: all
    timeout: float = 60.0
    max_bytes: int = 200_000_000


async def walk(
    client: httpx.AsyncClient,
    url: str,
    figures: QualityAccumulator,
    options: WalkOptions,
    progress: Progress | None = None,
) -> Walk:
    """Read every page from `url` (an items URL) into `figures`."""
    state = Walk(url)
    started = time.perf_counter()
    seen: set[str] = set()
    page_url: str | None = with_limit(url, options.page_size)
    try:
        while page_url is not None:
            if page_url in seen:
                state.stopped = f"the server sent a next link already followed: {page_url}"
                return state
            seen.add(page_url)
            doc = await fetch_page(client, page_url, options.timeout, options.max_bytes)
            features = doc.get("features") if isinstance(doc, dict) else None
            if not isinstance(features, list):
                raise WalkError(f"GET {page_url}: not a FeatureCollection (no features array)")
            if state.pages == 0 and isinstance(doc.get("numberMatched"), int):
                state.number_matched = doc["numberMatched"]
            if options.max_items:
                features = features[: options.max_items - state.items]
            figures.add_many(features)
            state.pages += 1
            state.items += len(features)
            if progress:
                progress(state)
            page_url = next_link(doc)
            if page_url and options.max_items and state.items >= options.max_items:
                state.stopped = f"stopped at --max-items {options.max_items}"
                return state
        state.complete = True
        return state
    except WalkError as e:
        state.stopped = str(e)
        return state
    finally:
        state.seconds = round(time.perf_counter() - started, 3)


async def assess(
    url: str,
    profile: Profile,
    collection: str | None = None,
    options: WalkOptions | None = None,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """The quality document of one collection: where, how far the walk got, the figures."""
    options = options or WalkOptions()
    target = items_url(url, collection or profile.id)
    figures = QualityAccumulator(profile)
    async with httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(options.timeout),
    ) as client:
        state = await walk(client, target, figures, options, progress)
    return {
        "target": target,
        "walk": {
            "complete": state.complete,
            "stopped": state.stopped or None,
            "pages": state.pages,
            "items": state.items,
            "numberMatched": state.number_matched,
            "started": state.started,
            "seconds": state.seconds,
        },
        "quality": figures.report(),
    }
