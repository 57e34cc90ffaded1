"""`twinbridge quality` on a SensorThings service root: the profile's Datastreams read over
HTTP (the same reader and figures as the catalog's), as one quality document of the same
shape as a Features walk's (`target`, `walk`, `quality`)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from gateway.quality.datastreams import DatastreamAccumulator
from gateway.quality.stareader import read
from gateway.quality.walk import USER_AGENT, Progress, Walk, WalkError, WalkOptions, fetch_page
from profiles import Profile

STA_ROOT = "sta/v1.1"


def service_root(url: str) -> str:
    """The service root: `url` itself when it names one (`…/v1.1`), the root above it
    when it names an entity set, else the SensorThings root below a landing page."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    head, _, tail = path.rpartition("/")
    if tail and not tail.startswith("v1.") and head.endswith(("/v1.0", "/v1.1")):
        path = head  # …/v1.1/Datastreams
    elif not tail.startswith("v1."):
        path = f"{path}/{STA_ROOT}"
    return urlunsplit(parts._replace(path=path, query="", fragment=""))


async def assess_sensorthings(
    url: str,
    profile: Profile,
    options: WalkOptions | None = None,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    window: int = 100,
    stale_seconds: float = 86400,
) -> dict[str, Any]:
    """The quality document of a profile's Datastreams at a SensorThings root."""
    options = options or WalkOptions()
    root = service_root(url)
    state = Walk(f"{root}/Datastreams")
    figures = DatastreamAccumulator(profile, window=window, stale_seconds=stale_seconds)
    started = time.perf_counter()

    def seen(read_so_far: int, matched: int | None) -> None:
        state.pages += 1
        state.items, state.number_matched = read_so_far, matched
        if progress:
            progress(state)

    async with httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(options.timeout),
    ) as client:

        async def get(path: str, query: list[tuple[str, str]]) -> Any:
            doc = await fetch_page(
                client, f"{root}/{path}?{urlencode(query)}", options.timeout, options.max_bytes
            )
            if not isinstance(doc, dict) or not isinstance(doc.get("value"), list):
                raise WalkError(f"GET {root}/{path}: not a SensorThings collection (no value)")
            return doc

        page = min(options.page_size, 100)  # each Datastream brings its Observations
        observations, newest = None, None
        try:
            done = await read(
                get, profile, figures, page=page, max_items=options.max_items, progress=seen
            )
            state.complete = done.complete
            observations, newest = done.observations, done.newest
            if not done.complete:
                state.stopped = f"stopped at --max-items {options.max_items}"
        except WalkError as e:
            state.stopped = str(e)
    state.seconds = round(time.perf_counter() - started, 3)
    return {
        "target": state.url,
        "kind": "sensorthings",
        "walk": {
            "complete": state.complete,
            "stopped": state.stopped or None,
            "pages": state.pages,
            "items": state.items,
            "numberMatched": state.number_matched,
            "started": state.started,
            "seconds": state.seconds,
        },
        "observations": observations,
        "lastUpdate": newest.isoformat() if newest else None,
        "quality": figures.report(),
    }
