"""The JSON documents of OGC API – Features Part 1, built from a view and a base URL.

The HTML pages render these same documents, so both representations say the same thing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from connectors.base import CRS84
from gateway.features import conformance
from gateway.features.crs import OFFERED, collection_crs, storage_crs_uri
from gateway.features.jsonfg import JSONFG, JsonFg
from gateway.features.links import (
    GEOJSON,
    HTML,
    JSON,
    OPENAPI,
    encoded_format_links,
    format_links,
    link,
    profile_uri,
    with_format,
)
from gateway.features.schemas import SCHEMA_JSON
from gateway.features.views import ApiView, Collection
from gateway.mapping import Feature
from gateway.query.model import Page, PageStream

GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
QUERYABLES = f"{OGC_REL}/queryables"
SORTABLES = f"{OGC_REL}/sortables"
SCHEMA = f"{OGC_REL}/schema"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def landing(view: ApiView, root: str, fmt: str) -> dict[str, Any]:
    links = format_links(f"{root}/", {}, fmt, JSON)
    links += [
        link(f"{root}/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
        link(f"{root}/api.html", "service-doc", HTML, "The API documentation"),
        link(f"{root}/conformance", "conformance", JSON, "Conformance classes implemented"),
        link(f"{root}/collections", "data", JSON, "The collections"),
    ]
    base = root[: len(root) - len(view.path)] if view.path else root
    links += [
        link(f"{base}/{tid}/", "related", JSON, f"Tenant API: {title}")
        for tid, title in view.tenants.items()
    ]
    if view.data_catalog:
        title = "Data catalog: profiles × tenants with data quality (also DCAT-AP)"
        links.append(link(f"{root}/catalog", "related", JSON, title))
    return {"title": view.title, "description": view.description, "links": links}


def conformance_doc(root: str, fmt: str, writes: bool = False) -> dict[str, Any]:
    return {
        "links": format_links(f"{root}/conformance", {}, fmt, JSON),
        "conformsTo": conformance.conforms_to(writes),
    }


def collection(
    c: Collection, root: str, fmt: str, *, base: str, as_entry: bool = False
) -> dict[str, Any]:
    """`root`: the view's URL (a tenant's or the federated root); `base`: the gateway's."""
    url = f"{root}/collections/{c.id}"
    links = [] if as_entry else format_links(url, {}, fmt, JSON)
    if as_entry:
        links.append(link(url, "self", JSON, c.title))
    links += [
        link(f"{url}/items?f=json", "items", GEOJSON, "Items as GeoJSON"),
        link(f"{url}/items?f=html", "items", HTML, "Items as HTML"),
        link(f"{url}/items?f=jsonfg", "items", JSONFG, "Items as JSON-FG"),
        link(f"{url}/queryables", QUERYABLES, SCHEMA_JSON, "Queryables"),
        link(f"{url}/sortables", SORTABLES, SCHEMA_JSON, "Sortables"),
        link(f"{url}/schema", SCHEMA, SCHEMA_JSON, "Schema of the items"),
    ]
    extent = c.extent()
    doc: dict[str, Any] = {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "links": links,
        "itemType": "feature",
        "crs": collection_crs(c.storage_crs),
        "storageCrs": storage_crs_uri(c.storage_crs),
    }
    if c.profile is not None:  # the profile version the items conform to
        doc["conformsTo"] = [profile_uri(base, c.profile.id, c.profile.version)]
    spatial = {"bbox": [list(extent.bbox) if extent.bbox else [-180, -90, 180, 90]], "crs": CRS84}
    doc["extent"] = {"spatial": spatial}
    if extent.temporal:
        interval = [_iso(extent.temporal[0]), _iso(extent.temporal[1])]
        doc["extent"]["temporal"] = {"interval": [interval], "trs": GREGORIAN}
    return doc


def view_base(view: ApiView, root: str) -> str:
    """The gateway's public root, from a view's root URL (which ends in the view's path)."""
    return root[: len(root) - len(view.path)] if view.path else root


def collections(view: ApiView, root: str, fmt: str) -> dict[str, Any]:
    return {
        "links": format_links(f"{root}/collections", {}, fmt, JSON),
        "collections": [
            collection(c, root, fmt, base=view_base(view, root), as_entry=True)
            for c in view.collections.values()
        ],
        "crs": list(OFFERED),
    }


def items(
    c: Collection,
    root: str,
    fmt: str,
    params: dict[str, str],
    page: Page,
    offset: int,
    limit: int,
    cursor: str | None = None,
    jsonfg: JsonFg | None = None,
) -> dict[str, Any]:
    """`cursor`: where the next page starts, when the collection pages without offsets;
    `jsonfg`: set for a JSON-FG page, whose collection-level members come first."""
    doc: dict[str, Any] = {"type": "FeatureCollection"}
    if jsonfg is not None:
        doc.update(jsonfg.collection_members())
    doc["features"] = page.features
    doc.update(items_tail(c, root, fmt, params, page, len(page.features), offset, limit, cursor))
    return doc


def items_tail(
    c: Collection,
    root: str,
    fmt: str,
    params: dict[str, str],
    page: Page | PageStream,
    returned: int,
    offset: int,
    limit: int,
    cursor: str | None = None,
) -> dict[str, Any]:
    """A FeatureCollection's members besides its features: a streamed page writes them
    after the features, once it knows how many went out and whether there is a next."""
    url = f"{root}/collections/{c.id}/items"
    # The request's parameters are encoded once for all links (see links.with_format).
    kept = urlencode({k: v for k, v in params.items() if k not in ("f", "offset", "cursor")})
    links = representation_links(url, _joined(kept, f"offset={offset}" if offset else ""), fmt)
    page_type, page_f = _PAGE_TYPES.get(fmt, (GEOJSON, "json"))
    if page.has_next:
        start = urlencode({"cursor": cursor}) if cursor else f"offset={offset + limit}"
        after = with_format(url, _joined(kept, start), page_f)
        links.append(link(after, "next", page_type, "Next page"))
    if offset > 0:
        before = with_format(url, kept, page_f)
        if offset - limit > 0:
            before += f"&offset={offset - limit}"
        links.append(link(before, "prev", page_type, "Previous page"))
    links.append(link(f"{root}/collections/{c.id}", "collection", JSON, c.title))
    doc: dict[str, Any] = {"links": links}
    doc["timeStamp"] = _iso(datetime.now(UTC).replace(microsecond=0))
    if page.number_matched is not None:
        doc["numberMatched"] = page.number_matched
    doc["numberReturned"] = returned
    if page.failed_sources:
        doc["twinbridge:failedSources"] = page.failed_sources
    return doc


_PAGE_TYPES = {"html": (HTML, "html"), "jsonfg": (JSONFG, "jsonfg")}


def _joined(*queries: str) -> str:
    return "&".join(q for q in queries if q)


def representation_links(url: str, query: str, fmt: str) -> list[dict[str, str]]:
    """`self` and `alternate` of items and item: GeoJSON, HTML and JSON-FG, in that order
    (clients that take the first JSON alternate get plain GeoJSON). `query`: the encoded
    parameters besides `f`."""
    links = encoded_format_links(url, query, "html" if fmt == "html" else "json", GEOJSON)
    as_jsonfg = link(with_format(url, query, "jsonfg"), "alternate", JSONFG, "As JSON-FG")
    if fmt == "jsonfg":
        links[0]["rel"], links[0]["title"] = "alternate", "As GeoJSON"
        as_jsonfg["rel"], as_jsonfg["title"] = "self", "This document"
    return [*links, as_jsonfg]


def item(
    c: Collection, root: str, fmt: str, feature: Feature, jsonfg: JsonFg | None = None
) -> dict[str, Any]:
    url = f"{root}/collections/{c.id}/items/{quote(str(feature['id']), safe='')}"
    links = representation_links(url, "", fmt)
    links.append(link(f"{root}/collections/{c.id}", "collection", JSON, c.title))
    if jsonfg is None:
        return {**feature, "links": links}
    rest = {k: v for k, v in feature.items() if k not in ("type", "featureType")}
    return {"type": "Feature", **jsonfg.root_members(), **rest, "links": links}
