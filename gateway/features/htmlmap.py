"""A page's map, twice: the SVG drawn on the server (every browser, no script) and the data
for the interactive OpenLayers map that replaces it (gateway/static/map.js), each feature
tied to its table row so that pointing at one highlights the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import CRS84
from gateway.features.svgmap import SvgMap, build_map, drawable

# (title, href of its page or None, GeoJSON geometry, id of its table row or None)
Shape = tuple[str, str | None, Any, str | None]


@dataclass(frozen=True)
class PageMap:
    """``svg`` and ``data`` are None when nothing can be drawn; ``note`` then says why."""

    svg: SvgMap | None
    data: dict[str, Any] | None
    note: str | None = None


def page_map(shapes: Sequence[Shape], crs: str | None = None) -> PageMap:
    """The map of ``shapes``, whose coordinates are in ``crs`` (CRS84 when None)."""
    if crs not in (None, CRS84):
        note = (
            f"No map: these coordinates are in {crs}, and the map draws CRS84 longitude and"
            " latitude. Without the crs parameter the page has its map."
        )
        return PageMap(None, None, note)
    drawn = [shape for shape in shapes if shape[2] is not None and drawable(shape[2])]
    svg = build_map((title, href, geometry) for title, href, geometry, _ in drawn)
    if svg is None:
        return PageMap(None, None, "Nothing to draw on a map: no geometry.")
    features = [
        {"label": title, "href": href, "row": row, "geometry": geometry}
        for title, href, geometry, row in drawn
    ]
    return PageMap(svg, {"features": features})
