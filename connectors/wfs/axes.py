"""Axis order of a CRS as a WFS names it.

GML writes coordinates in the axis order the CRS *defines*: EPSG:4326 is latitude first,
ETRS89 / UTM 32N (EPSG:25832) easting first. That holds for the URN
(`urn:ogc:def:crs:EPSG::4326`), the OGC http URI and the short `EPSG:4326` a WFS 2.0 lists;
only the old `http://www.opengis.net/gml/srs/epsg.xml#4326` form means x/y (longitude first),
and CRS84 is longitude first by definition. GeoJSON is always x/y.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pyproj import CRS
from pyproj.exceptions import CRSError

from connectors.base import CRS84

_EPSG_CODE = re.compile(
    r"(?:urn:ogc:def:crs:EPSG:[\d.]*:|https?://www\.opengis\.net/def/crs/EPSG/[\d.]+/|EPSG:)"
    r"(\d+)$",
    re.IGNORECASE,
)
_LEGACY_XY = re.compile(r"https?://www\.opengis\.net/gml/srs/epsg\.xml#(\d+)$", re.IGNORECASE)


def epsg_code(name: str) -> int | None:
    """The EPSG code in any of the names a WFS uses, None for others (CRS84 …)."""
    text = name.strip()
    match = _EPSG_CODE.match(text) or _LEGACY_XY.match(text)
    return int(match.group(1)) if match else None


@lru_cache(maxsize=64)
def lat_first(name: str) -> bool:
    """True when GML coordinates in this CRS come northing/latitude first."""
    text = name.strip()
    if _LEGACY_XY.match(text) or text in (CRS84, "urn:ogc:def:crs:OGC:1.3:CRS84"):
        return False
    code = epsg_code(text)
    if code is None:
        return False
    try:
        axes = CRS.from_epsg(code).axis_info
    except CRSError:
        return False
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def short_name(name: str) -> str:
    """`EPSG:<code>` for pyproj and connectors.crs (x/y order is theirs: always_xy)."""
    code = epsg_code(name)
    return f"EPSG:{code}" if code is not None else name


__all__ = ["epsg_code", "lat_first", "short_name"]
