"""Masterportal's SensorThings loading loop, in Python, as its `sensorThingsHttp.js` runs it.

Masterportal (Hamburg's geoportal; its app is not on npm) loads a SensorThings layer with
`SensorThingsHttp.getInExtent`: the map extent becomes `st_intersects(Locations/location,
geography'POLYGON ((…))')` (`Thing/Locations/location` with root node Datastreams), the URL
is rebuilt by `url-parse` (every query value through `encodeURIComponent`), and `get`
follows every `@iot.nextLink` and every nested `X@iot.nextLink` first in, first out
(`callNextLink`, `collectNextLinks`), skipping a link whose `$top` is at most its `$skip`
(`getNextFiFoObj`, both read with the regexes below from the link as the server sent it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from pyproj import Transformer

# The character classes are Masterportal's: `[$|%24]` is one of `$ | % 2 4`.
TOP = re.compile(r"[$|%24]top=([0-9]+)")
SKIP = re.compile(r"[$|%24]skip=([0-9]+)")
NEXT = "@iot.nextLink"
Fetch = Callable[[str], Any]


def fetch_x(regex: re.Pattern[str], url: str) -> int:
    """`fetchTopX` / `fetchSkipX`: the first match, 0 without one."""
    found = regex.search(url)
    return int(found.group(1)) if found else 0


def encode_uri_component(text: str) -> str:
    return quote(text, safe="-_.!~*'()")


def extent_points(extent: tuple[float, float, float, float], source: str) -> list[tuple]:
    """`convertExtentIntoPoints`: the extent's corners (closed ring) in EPSG:4326."""
    x0, y0, x1, y1 = extent
    to_wgs84 = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [to_wgs84.transform(x, y) for x, y in ring]


def layer_url(root_url: str, root: str, expand: str, points: list[tuple]) -> str:
    """The layer's request as `addPointsToUrl` leaves it: `$filter` and `$expand` through
    url-parse, so keys and values are percent-encoded like `encodeURIComponent` does."""
    ring = ",".join(f"{x} {y}" for x, y in points)
    where = "Locations/location" if root == "Things" else "Thing/Locations/location"
    query = {
        "$expand": expand,
        "$filter": f"st_intersects({where},geography'POLYGON (({ring}))')",
    }
    pairs = "&".join(
        f"{encode_uri_component(k)}={encode_uri_component(v)}" for k, v in query.items()
    )
    return f"{root_url}/{root}?{pairs}"


class SensorThingsHttp:
    """`get(url)`: every entity the URL leads to, nested pages appended where they belong;
    `requests` lists every URL called."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self.requests: list[str] = []

    def get(self, url: str, limit: int = 1000) -> list[Any]:
        fifo: list[tuple[str, list[Any]]] = []
        result: list[Any] = []
        self._call(url, fifo, result)
        while (item := self._next(fifo)) is not None:
            if len(self.requests) >= limit:
                raise AssertionError(f"still loading after {limit} requests: {item[0]}")
            self._call(item[0], fifo, item[1])
        return result

    def _call(self, url: str, fifo: list[tuple[str, list[Any]]], result: list[Any]) -> None:
        """`callNextLink`: the values go into `result`, the page's nextLink into the FIFO,
        then every nested nextLink found anywhere in `result` (removed once collected)."""
        self.requests.append(url)
        response = self.fetch(url)
        assert isinstance(response, dict), f"{url}: not an object"
        if isinstance(response.get("value"), list):
            result.extend(response["value"])
            if NEXT in response:
                fifo.append((response[NEXT], result))
        else:
            result.append(response)
        self._collect(result, fifo)

    def _collect(self, node: Any, fifo: list[tuple[str, list[Any]]]) -> None:
        """`collectNextLinks`: depth first through objects and arrays."""
        if isinstance(node, list):
            for child in node:
                self._collect(child, fifo)
            return
        if not isinstance(node, dict):
            return
        for key in list(node):
            pos = key.find(NEXT)
            if pos == -1:
                self._collect(node[key], fifo)
            elif pos == 0:
                fifo.append((node.pop(key), node.get("value")))
            else:
                fifo.append((node.pop(key), node.get(key[:pos])))

    @staticmethod
    def _next(fifo: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]] | None:
        """`getNextFiFoObj`: the next link, passing over those whose `$top` <= `$skip`."""
        while fifo:
            url, ref = fifo.pop(0)
            top, skip = fetch_x(TOP, url), fetch_x(SKIP, url)
            if top > 0 and top <= skip:
                continue
            return url, ref
        return None
