"""HTML encoding of the OGC API – Features resources (requirement class HTML, Part 1).

Each page is rendered from the very JSON document the API returns for the resource, with
the Jinja2 templates in ``gateway/templates`` (autoescaped: values come from untrusted
sources). Pages work offline and under a strict Content-Security-Policy: the stylesheet and
the map script are the gateway's own files under ``/static`` (gateway/assets.py), data for
the script travels in ``<script type="application/json">``, never as inline code. Without
script (or without OpenLayers installed) a page keeps its server-drawn SVG map
(gateway/features/svgmap.py) and its forms and links work as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import jinja2
import orjson
from markupsafe import Markup

from gateway.assets import asset_url, has_openlayers
from gateway.features.htmlform import items_form
from gateway.features.htmlmap import page_map
from gateway.features.svgmap import bbox_geometry

Kind = Literal[
    "landing", "conformance", "collections", "collection", "items", "item", "queryables",
    "api", "error", "catalog",
]  # fmt: skip
Doc = dict[str, Any]
Link = dict[str, str]
Extra = Mapping[str, Any]

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_WEB_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})


def render(
    kind: Kind,
    doc: Doc,
    *,
    title: str,
    breadcrumbs: Sequence[tuple[str, str]] = (),
    static: str = "/static",
    extra: Extra | None = None,
) -> str:
    """Render ``doc``, the JSON document of a resource of this ``kind``, as an HTML page.

    ``static``: the absolute URL of ``/static``; ``extra``: what the document does not say
    but the page shows (``crs`` of the features, the collection's ``queryables`` schema,
    the ``html_limit``).
    """
    if kind not in _CONTEXTS:
        raise ValueError(f"unknown HTML page kind: {kind!r}")
    links = _links(doc)
    context: dict[str, Any] = {
        "doc": doc,
        "title": title,
        "breadcrumbs": [(str(label), str(href)) for label, href in breadcrumbs],
        "links": links,
        "json_href": _json_href(links),
        "interactive": has_openlayers(),
        "asset": partial(asset_url, static),
        "map": None,
    }
    context.update(_CONTEXTS[kind](doc, links, extra or {}))
    return _ENV.get_template(f"{kind}.html").render(context)


def script_json(value: object) -> Markup:
    """JSON for a ``<script type="application/json">``: nothing in it can end the element
    (``</script>``) or open a comment; NaN and infinities become null (orjson)."""
    return Markup(orjson.dumps(value, default=str).decode().translate(_SCRIPT_SAFE))


def safe_url(href: object) -> str:
    """``href`` unless its scheme could run code (``javascript:``, ``data:`` …), else ``#``."""
    text = str(href)
    scheme = _SCHEME.match("".join(ch for ch in text if ch > " "))  # as browsers read it
    if scheme and scheme.group(1).lower() not in ("http", "https", "mailto"):
        return "#"
    return text


def format_value(value: object) -> str:
    """A property value as table text: JSON for objects and arrays, empty for null."""
    if value is None:
        return ""
    if isinstance(value, dict | list | bool):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _obj(doc: object, key: str) -> Doc:
    """``doc[key]`` when both are JSON objects, else an empty one."""
    value = doc.get(key) if isinstance(doc, dict) else None
    return value if isinstance(value, dict) else {}


def _links(doc: object) -> list[Link]:
    """The document's links, reduced to strings, dropping any without an href."""
    raw = doc.get("links") if isinstance(doc, dict) else None
    keys = ("href", "rel", "type", "title")
    return [
        {key: format_value(link.get(key)) for key in keys}
        for link in (raw if isinstance(raw, list) else [])
        if isinstance(link, dict) and link.get("href")
    ]


def _pick(links: list[Link], rels: Sequence[str]) -> str | None:
    """Href of the first link with one of ``rels``, preferring an HTML one."""
    found = [link for link in links if link["rel"] in rels]
    html = [link for link in found if "html" in link["type"].lower()]
    return (html or found)[0]["href"] if found else None


def _json_href(links: list[Link]) -> str | None:
    """Href of the JSON representation: the JSON ``alternate``, else a JSON ``self``."""
    found = [x for x in links if x["rel"] in ("alternate", "self") and "json" in x["type"]]
    return min(found, key=lambda x: x["rel"] != "alternate", default={}).get("href")


def _collection_info(collection: Doc, number: int = 0) -> Doc:
    """Names, main links and extent shape of a collection, for its row or its page."""
    links = _links(collection)
    cid = format_value(collection.get("id"))
    bboxes = _obj(_obj(collection, "extent"), "spatial").get("bbox")
    first = bboxes[0] if isinstance(bboxes, list) and bboxes and isinstance(bboxes[0], list) else []
    title = format_value(collection.get("title") or cid)
    href = _pick(links, ("self", "alternate")) or f"collections/{quote(cid, safe='')}"
    row = f"collection-{number}" if number else None
    return {
        "id": cid,
        "row_id": row,
        "title": title,
        "href": href,
        "items_href": _pick(links, ("items",)),
        "shapes": [(title, href, g, row) for g in [bbox_geometry(first)] if g],
        "doc": collection,
    }


def _collections(doc: Doc, links: list[Link], extra: Extra) -> Doc:
    collections = [c for c in doc.get("collections") or [] if isinstance(c, dict)]
    rows = [_collection_info(c, n) for n, c in enumerate(collections, start=1)]
    return {"rows": rows, "map": page_map([s for row in rows for s in row["shapes"]])}


def _collection(doc: Doc, links: list[Link], extra: Extra) -> Doc:
    info = _collection_info(doc)
    return {"info": info, "map": page_map([(t, None, g, None) for t, _, g, _ in info["shapes"]])}


def _items(doc: Doc, links: list[Link], extra: Extra) -> Doc:
    features = [f for f in doc.get("features") or [] if isinstance(f, dict)]
    self_href = _pick(links, ("self",)) or "items"  # "items" resolves from .../items
    base = urlunsplit(urlsplit(self_href)._replace(query="", fragment="")).rstrip("/")
    columns: dict[str, None] = {}  # union of property names, in first-seen order
    rows = []
    for number, feature in enumerate(features, start=1):
        props = _obj(feature, "properties")
        columns.update(dict.fromkeys(props))
        fid = feature.get("id")
        href = None if fid is None else f"{base}/{quote(str(fid), safe='')}"
        label = f"Feature {number}" if fid is None else str(fid)
        row = {"id": fid, "row_id": f"feature-{number}", "label": label, "href": href}
        rows.append({**row, "props": props, "feature": feature})
    shapes = [(r["label"], r["href"], r["feature"].get("geometry"), r["row_id"]) for r in rows]
    failed = doc.get("twinbridge:failedSources") or []
    return {
        "columns": list(columns),
        "rows": rows,
        "map": page_map(shapes, extra.get("crs")),
        "form": items_form(self_href, _obj(extra, "queryables"), extra.get("html_limit")),
        "next_href": _pick(links, ("next",)),
        "prev_href": _pick(links, ("prev", "previous")),
        "number_returned": doc.get("numberReturned", len(features)),
        "failed_sources": [e if isinstance(e, dict) else {"error": e} for e in failed],
    }


def _item(doc: Doc, links: list[Link], extra: Extra) -> Doc:
    shape = ("Feature" if doc.get("id") is None else str(doc["id"]), None, doc.get("geometry"))
    return {"props": _obj(doc, "properties"), "map": page_map([(*shape, None)], extra.get("crs"))}


def _queryables(doc: Doc, links: list[Link], extra: Extra) -> Doc:
    props = _obj(doc, "properties")
    rows = [(name, s, schema_text(doc, s)) for name, s in props.items() if isinstance(s, dict)]
    return {"rows": rows}


def _deref(root: Doc, node: object) -> Any:
    """Follow local ``$ref``s (``#/components/...``); external ones are left as they are."""
    for _ in range(16):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return node
        node = root
        for key in ref[2:].split("/"):
            node = _obj(node, key.replace("~1", "/").replace("~0", "~"))
    return node


def schema_text(root: Doc, schema: object, depth: int = 0) -> str:
    """A one-line summary of a JSON schema: type, format, enum, bounds, default."""
    schema = _deref(root, schema)
    if not isinstance(schema, dict) or depth > 4:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1].removesuffix(".json")
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(schema.get(key), list):
            return " | ".join(schema_text(root, s, depth + 1) for s in schema[key])
    text = format_value(schema.get("type") or schema.get("format") or "any")
    if text == "array":
        text = f"array of {schema_text(root, schema.get('items'), depth + 1) or 'any'}"
    elif schema.get("format") and schema.get("type"):
        text += f" ({schema['format']})"
    keys = ("minimum", "maximum", "default")
    facts = [f"{key} {format_value(schema[key])}" for key in keys if key in schema]
    if isinstance(schema.get("enum"), list):
        facts.insert(0, "one of " + ", ".join(format_value(v) for v in schema["enum"]))
    return "; ".join([text, *facts])


def _api(doc: Doc, links: list[Link], extra: Extra) -> Doc:
    """Path items and helpers; the template walks the operations, resolving ``$ref``s."""
    paths = {str(path): _deref(doc, item) for path, item in _obj(doc, "paths").items()}
    return {
        "paths": {path: item for path, item in paths.items() if isinstance(item, dict)},
        "methods": ("get", "put", "post", "delete", "options", "head", "patch", "trace"),
        "info": _obj(doc, "info"),
        "schemas": _obj(_obj(doc, "components"), "schemas"),
        "deref": partial(_deref, doc),
        "schema_text": partial(schema_text, doc),
    }


_CONTEXTS: dict[str, Callable[[Doc, list[Link], Extra], Doc]] = {
    "landing": lambda doc, links, extra: {},
    "conformance": lambda doc, links, extra: {},
    "collections": _collections,
    "collection": _collection,
    "items": _items,
    "item": _item,
    "queryables": _queryables,
    "api": _api,
    "error": lambda doc, links, extra: {},
    "catalog": lambda doc, links, extra: {
        "matrix": extra.get("matrix"),
        "usage": extra.get("usage"),
    },
}
# Autoescaped: every value may come from an untrusted source.
_LOADER = jinja2.PackageLoader("gateway", "templates")
_ENV = jinja2.Environment(loader=_LOADER, autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(safe_url=safe_url, value=format_value, script_json=script_json)
_ENV.filters["pretty"] = partial(json.dumps, indent=2, ensure_ascii=False, default=str)
_ENV.globals["pick"] = _pick
_ENV.tests["web_url"] = lambda value: isinstance(value, str) and bool(_WEB_URL.match(value))
