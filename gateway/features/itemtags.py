"""The ETag of one item: what a writer's If-Match names (OGC API – Features Part 4,
optimistic locking with ETags).

The tag hashes the item as the collection maps it (before any presentation), so it changes
exactly when the item does, whatever else in the collection changes; any source has one,
versioned or not. A representation other than GeoJSON in CRS84 (another CRS, JSON-FG,
HTML) appends its own suffix, since a strong tag names one representation; If-Match
compares the item's part, so a tag from any representation of the current item matches.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from connectors.base import CRS84
from gateway.httpcache.conditions import CODING_SUFFIXES


def item_version(feature: dict[str, Any]) -> str:
    body = orjson.dumps(feature, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(body, digest_size=12).hexdigest()


def item_etag(feature: dict[str, Any], representation: str = "") -> str:
    """The strong ETag of the item; `representation` names one other than plain GeoJSON
    in CRS84 (see `representation`)."""
    version = item_version(feature)
    if not representation:
        return f'"{version}"'
    shown = hashlib.blake2b(representation.encode(), digest_size=4).hexdigest()
    return f'"{version}.{shown}"'


def representation(fmt: str, crs: str, properties: Any, skip_geometry: bool) -> str:
    """'' for GeoJSON in CRS84 with everything; else what tells the representation apart."""
    if fmt in ("geojson", "json") and crs == CRS84 and properties is None and not skip_geometry:
        return ""
    return repr((fmt, crs, properties, skip_geometry))


def if_match(header: str, feature: dict[str, Any] | None) -> bool:
    """RFC 9110 §13.1.1: `*` matches any current item; otherwise a strong tag of the
    current item (weak tags never match; a compression suffix is allowed)."""
    tags = [part.strip() for part in header.split(",") if part.strip()]
    if feature is None:
        return False
    if "*" in tags:
        return True
    version = item_version(feature)
    for tag in tags:
        if tag.startswith("W/") or len(tag) < 2 or tag[0] != '"' or tag[-1] != '"':
            continue
        opaque = tag[1:-1]
        for suffix in CODING_SUFFIXES:
            opaque = opaque.removesuffix(suffix)
        if opaque.split(".", 1)[0] == version:
            return True
    return False


__all__ = ["if_match", "item_etag", "item_version", "representation"]
