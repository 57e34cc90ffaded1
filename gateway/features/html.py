"""HTML encoding of the OGC API – Features resources (requirement class HTML, Part 1).

Each page is rendered from the very JSON document the API returns for the resource, with
the Jinja2 templates in ``gateway/templates`` (autoescaped: values come from untrusted
sources). Pages work offline: CSS is inline in ``base.html`` and maps are drawn here, on
the server, as inline SVG in Web Mercator; there is no script, font or tile to fetch.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import jinja2

Kind = Literal[
    "landing", "conformance", "collections", "collection", "items", "item", "queryables",
    "api", "error",
]  # fmt: skip
Doc = dict[str, Any]
Link = dict[str, str]
Position = tuple[float, float]
Parts = list[tuple[str, list[list[Position]]]]  # ("point" | "line" | "area", rings)

MAP_WIDTH = 640
_MAX_LAT = 85.05112878  # Web Mercator's square world
_MIN_SPAN = math.radians(0.005)  # a lone point still gets ~500 m of surroundings
_STEPS = sorted({m * 10.0**e for e in range(-5, 2) for m in (1, 2, 5)} | {30.0, 45.0, 90.0})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_WEB_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_SHAPES = {  # GeoJSON type: (part kind, is a Multi* of it)
    "Point": ("point", False), "MultiPoint": ("point", True),
    "LineString": ("line", False), "MultiLineString": ("line", True),
    "Polygon": ("area", False), "MultiPolygon": ("area", True),
}  # fmt: skip


def render(kind: Kind, doc: Doc, *, title: str, breadcrumbs: Sequence[tuple[str, str]] = ()) -> str:
    """Render ``doc``, the JSON document of a resource of this ``kind``, as an HTML page."""
    if kind not in _CONTEXTS:
        raise ValueError(f"unknown HTML page kind: {kind!r}")
    links = _links(doc)
    context: dict[str, Any] = {
        "doc": doc,
        "title": title,
        "breadcrumbs": [(str(label), str(href)) for label, href in breadcrumbs],
        "links": links,
        "json_href": _json_href(links),
    }
    context.update(_CONTEXTS[kind](doc, links))
    return _ENV.get_template(f"{kind}.html").render(context)


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


def _collection_info(collection: Doc) -> Doc:
    """Names, main links and extent shape of a collection, for its row or its page."""
    links = _links(collection)
    cid = format_value(collection.get("id"))
    bboxes = _obj(_obj(collection, "extent"), "spatial").get("bbox")
    first = bboxes[0] if isinstance(bboxes, list) and bboxes and isinstance(bboxes[0], list) else []
    title = format_value(collection.get("title") or cid)
    href = _pick(links, ("self", "alternate")) or f"collections/{quote(cid, safe='')}"
    return {
        "id": cid,
        "title": title,
        "href": href,
        "items_href": _pick(links, ("items",)),
        "shapes": [(title, href, g) for g in [_bbox_geometry(first)] if g],
        "doc": collection,
    }


def _collections(doc: Doc, links: list[Link]) -> Doc:
    rows = [_collection_info(c) for c in doc.get("collections") or [] if isinstance(c, dict)]
    return {"rows": rows, "map": build_map(s for row in rows for s in row["shapes"])}


def _collection(doc: Doc, links: list[Link]) -> Doc:
    info = _collection_info(doc)
    return {"info": info, "map": build_map((t, None, g) for t, _, g in info["shapes"])}


def _items(doc: Doc, links: list[Link]) -> Doc:
    features = [f for f in doc.get("features") or [] if isinstance(f, dict)]
    parts = urlsplit(_pick(links, ("self",)) or "items")  # "items" resolves from .../items
    base = urlunsplit(parts._replace(query="", fragment="")).rstrip("/")
    columns: dict[str, None] = {}  # union of property names, in first-seen order
    rows = []
    for number, feature in enumerate(features, start=1):
        props = _obj(feature, "properties")
        columns.update(dict.fromkeys(props))
        fid = feature.get("id")
        href = None if fid is None else f"{base}/{quote(str(fid), safe='')}"
        label = f"Feature {number}" if fid is None else str(fid)
        rows.append({"id": fid, "label": label, "href": href, "props": props, "feature": feature})
    shapes = [(row["label"], row["href"], row["feature"].get("geometry")) for row in rows]
    failed = doc.get("twinbridge:failedSources") or []
    return {
        "columns": list(columns),
        "rows": rows,
        "map": build_map(shapes),
        "next_href": _pick(links, ("next",)),
        "prev_href": _pick(links, ("prev", "previous")),
        "number_returned": doc.get("numberReturned", len(features)),
        "failed_sources": [e if isinstance(e, dict) else {"error": e} for e in failed],
    }


def _item(doc: Doc, links: list[Link]) -> Doc:
    shape = ("Feature" if doc.get("id") is None else str(doc["id"]), None, doc.get("geometry"))
    return {"props": _obj(doc, "properties"), "map": build_map([shape])}


def _queryables(doc: Doc, links: list[Link]) -> Doc:
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


def _api(doc: Doc, links: list[Link]) -> Doc:
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


_CONTEXTS: dict[str, Callable[[Doc, list[Link]], Doc]] = {
    "landing": lambda doc, links: {},
    "conformance": lambda doc, links: {},
    "collections": _collections,
    "collection": _collection,
    "items": _items,
    "item": _item,
    "queryables": _queryables,
    "api": _api,
    "error": lambda doc, links: {},
}
# Autoescaped: every value may come from an untrusted source.
_LOADER = jinja2.PackageLoader("gateway", "templates")
_ENV = jinja2.Environment(loader=_LOADER, autoescape=True, trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(safe_url=safe_url, value=format_value)
_ENV.filters["pretty"] = partial(json.dumps, indent=2, ensure_ascii=False, default=str)
_ENV.globals["pick"] = _pick
_ENV.tests["web_url"] = lambda value: isinstance(value, str) and bool(_WEB_URL.match(value))


# --- SVG maps ----------------------------------------------------------------------------


@dataclass
class MapShape:
    """One feature (or extent) on a map: circles for points, paths for lines and areas."""

    title: str
    href: str | None
    circles: list[tuple[str, str]] = field(default_factory=list)
    paths: list[tuple[str, str]] = field(default_factory=list)  # (d, "line" | "area")


@dataclass
class SvgMap:
    """A map ready for the ``svg_map`` macro, in a ``0 0 width height`` viewBox."""

    width: int
    height: int
    shapes: list[MapShape]
    graticule: str
    labels: list[tuple[str, str, str, str]]  # (x, y, text, text-anchor)


@dataclass(frozen=True)
class _Frame:
    """The projected window shown: left/top edge in Mercator radians, pixels per radian."""

    left: float
    top: float
    scale: float
    height: int

    @classmethod
    def fit(cls, points: list[Position]) -> _Frame:
        """Fit the points with an 8 % margin, at an aspect ratio between 0.45 and 1."""
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        dx, dy = max(max(xs) - min(xs), _MIN_SPAN), max(max(ys) - min(ys), _MIN_SPAN)
        dx, dy = max(dx, dy) * 1.16, max(dy, dx * 0.45) * 1.16
        scale = MAP_WIDTH / dx
        left, top = (min(xs) + max(xs) - dx) / 2, (min(ys) + max(ys) + dy) / 2
        return cls(left, top, scale, round(dy * scale))

    def xy(self, point: Position) -> tuple[str, str]:
        """The point in viewBox space, rounded to 1 decimal."""
        return _num((point[0] - self.left) * self.scale), _num((self.top - point[1]) * self.scale)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _project(position: object) -> Position:
    """CRS84 lon/lat to Web Mercator on the unit sphere; a malformed position raises."""
    if not isinstance(position, list | tuple) or len(position) < 2:
        raise ValueError("position is not a coordinate array")
    lon, lat = position[0], position[1]
    for v in (lon, lat):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError("position has a non-numeric coordinate")
    lat = max(-_MAX_LAT, min(_MAX_LAT, lat))
    return math.radians(lon), math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _geometry_parts(geometry: object, depth: int = 0) -> Parts:
    """A GeoJSON geometry as projected parts; raises ValueError/TypeError when malformed."""
    if not isinstance(geometry, dict) or depth > 8:
        raise ValueError("not a geometry")
    if geometry.get("type") == "GeometryCollection":
        members = geometry.get("geometries") or []
        return [part for g in members for part in _geometry_parts(g, depth + 1)]
    kind, multi = _SHAPES[geometry.get("type")]  # KeyError: caught as unsupported
    members = geometry.get("coordinates") if multi else [geometry.get("coordinates")]
    if kind == "point":
        return [("point", [[_project(p)]]) for p in members]
    if kind == "line":
        return [("line", [[_project(p) for p in line]]) for line in members]
    return [("area", [[_project(p) for p in ring] for ring in poly]) for poly in members]


def _bbox_geometry(bbox: list[Any]) -> Doc | None:
    """A 2D or 3D bbox as a polygon (two across the antimeridian), None if malformed."""
    if len(bbox) not in (4, 6) or not all(isinstance(v, int | float) for v in bbox):
        return None
    half = len(bbox) // 2
    west, south, east, north = bbox[0], bbox[1], bbox[half], bbox[half + 1]
    spans = [(west, east)] if west <= east else [(west, 180), (-180, east)]
    rings = [[[[w, south], [e, south], [e, north], [w, north], [w, south]]] for w, e in spans]
    return {"type": "MultiPolygon", "coordinates": rings}


def build_map(items: Iterable[tuple[str, str | None, Any]]) -> SvgMap | None:
    """A map fitted to the drawable geometries of ``(title, href, geometry)`` items.

    Null or malformed geometries are skipped; None when nothing at all can be drawn.
    """
    drawn = []
    for title, href, geometry in items:
        try:
            parts = _geometry_parts(geometry) if geometry is not None else []
        except (ValueError, TypeError, KeyError):
            continue
        if parts:
            drawn.append((title, href, parts))
    points = [p for _, _, parts in drawn for _, rings in parts for ring in rings for p in ring]
    if not points:
        return None
    frame = _Frame.fit(points)
    shapes = [_shape(title, href, parts, frame) for title, href, parts in drawn]
    return SvgMap(MAP_WIDTH, frame.height, shapes, *_graticule(frame))


def _shape(title: str, href: str | None, parts: Parts, frame: _Frame) -> MapShape:
    shape = MapShape(title, href)
    for kind, rings in parts:
        if kind == "point":
            shape.circles.append(frame.xy(rings[0][0]))
        elif d := "".join(_path(ring, frame, kind == "area") for ring in rings if ring):
            shape.paths.append((d, kind))
    return shape


def _path(ring: list[Position], frame: _Frame, closed: bool) -> str:
    """SVG path data for a ring, dropping vertices that round onto the previous one."""
    out = [xy for xy, _ in groupby(frame.xy(point) for point in ring)]
    return "M" + "L".join(f"{x} {y}" for x, y in out) + ("Z" if closed else "")


def _graticule(frame: _Frame) -> tuple[str, list[tuple[str, str, str, str]]]:
    """Graticule path data and its edge labels, at a round step giving ≤ 6 lines a side."""
    west, east = math.degrees(frame.left), math.degrees(frame.left + MAP_WIDTH / frame.scale)
    south, north = (
        math.degrees(2 * math.atan(math.exp(frame.top - y / frame.scale))) - 90
        for y in (frame.height, 0)
    )
    step = next((s for s in _STEPS if max(east - west, north - south) / s <= 6), 90.0)
    decimals = max(0, math.ceil(-math.log10(step) - 1e-9))
    d, labels = [], []
    for lon in _ticks(west, east, step):
        x = frame.xy(_project([lon, 0]))[0]
        d.append(f"M{x} 0V{frame.height}")
        if 24 < float(x) < MAP_WIDTH - 24:
            labels.append((x, str(frame.height - 5), f"{lon + 0.0:.{decimals}f}°", "middle"))
    for lat in _ticks(max(south, -_MAX_LAT), min(north, _MAX_LAT), step):
        y = frame.xy(_project([0, lat]))[1]
        d.append(f"M0 {y}H{MAP_WIDTH}")
        if 14 < float(y) < frame.height - 18:
            labels.append(("4", y, f"{lat + 0.0:.{decimals}f}°", "start"))
    return "".join(d), labels


def _ticks(low: float, high: float, step: float) -> list[float]:
    """Multiples of ``step`` within [low, high], at most 40."""
    first = math.ceil(low / step)
    count = max(0, min(math.floor(high / step) - first + 1, 40))
    return [round((first + i) * step, 9) for i in range(count)]
