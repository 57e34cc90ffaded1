"""The actions of a WFS 2.0 Transaction, read from XML into SQL for one PostGIS table.

The parsing half of tests/connectors/wfst_server.py (see its docstring for what is and is
not implemented). Every function raises `WFSError` with the WFS 2.0 exception code a real
server would give; SQL is parameterised, identifiers are quoted, and column types come
from the database catalogue, never from the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree
from pyproj import CRS
from pyproj.exceptions import CRSError

from connectors.remote.xml import local_name, namespace

WFS = "http://www.opengis.net/wfs/2.0"
FES = "http://www.opengis.net/fes/2.0"
GML = "http://www.opengis.net/gml/3.2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
GEOMETRY_PROPERTY = "msGeometry"  # what MapServer calls a layer's geometry in GML
# EPSG names whose axis order is the CRS's own (lat/lon for 4326) and the traditional
# ones that are always x/y (easting/northing, lon/lat), as GeoServer and MapServer read them
_AUTHORITATIVE = re.compile(
    r"(?:urn:(?:x-)?ogc:def:crs:EPSG:[0-9.]*:|http://www\.opengis\.net/def/crs/EPSG/0/)(\d+)"
)
_TRADITIONAL = re.compile(r"(?:EPSG:|http://www\.opengis\.net/gml/srs/epsg\.xml#)(\d+)")
_CRS84 = ("urn:ogc:def:crs:OGC:1.3:CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84")


class WFSError(Exception):
    """An OWS exception: its WFS 2.0 exceptionCode, text and locator."""

    def __init__(self, code: str, text: str, locator: str | None = None) -> None:
        super().__init__(text)
        self.code, self.text, self.locator = code, text, locator


@dataclass(frozen=True)
class Layer:
    """The one feature type served: MapServer's layer over a PostGIS table."""

    name: str  # MapServer's layer name = the type's local name and the rid prefix
    namespace: str  # MapServer's feature namespace (wfs_namespace_uri)
    table: str
    key: str  # primary key column (MapServer's gml_featureid)
    geometry: str  # geometry column
    srid: int
    columns: dict[str, str]  # column -> SQL type, from the catalogue


@dataclass
class Statement:
    """Parameterised SQL under construction."""

    args: list[Any] = field(default_factory=list)

    def arg(self, value: Any, kind: str) -> str:
        """A parameter of PostgreSQL type `kind`."""
        self.args.append(value)
        return f"${len(self.args)}::{kind}"

    def text_as(self, value: str, column_type: str) -> str:
        """A text parameter cast to a column's type (PostgreSQL checks the value)."""
        return f"CAST({self.arg(value, 'text')} AS {column_type})"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@lru_cache(maxsize=64)
def _north_first(code: int) -> bool:
    try:
        first = CRS.from_epsg(code).axis_info[0].direction
    except CRSError as e:
        raise WFSError("InvalidParameterValue", f"unknown CRS EPSG:{code}", "srsName") from e
    return first in ("north", "south")


def crs(srs_name: str) -> tuple[int, bool]:
    """(EPSG code, whether GML coordinates come northing/latitude first)."""
    if srs_name in _CRS84:
        return 4326, False
    if match := _AUTHORITATIVE.fullmatch(srs_name):
        code = int(match[1])
        return code, _north_first(code)
    if match := _TRADITIONAL.fullmatch(srs_name):
        code = int(match[1])
        _north_first(code)  # known at all?
        return code, False
    raise WFSError("InvalidParameterValue", f"unsupported srsName '{srs_name}'", "srsName")


def _positions(el: etree._Element, swap: bool) -> str:
    """The coordinates of a gml:pos/gml:posList below `el` as WKT 'x y, x y'."""
    pos = [c for c in el if local_name(c.tag) in ("pos", "posList") and namespace(c.tag) == GML]
    if len(pos) != 1:
        raise WFSError("OperationParsingFailed", f"gml:{local_name(el.tag)} without gml:pos(List)")
    dim = int(pos[0].get("srsDimension") or el.get("srsDimension") or 2)
    try:
        values = [float(v) for v in (pos[0].text or "").split()]
    except ValueError as e:
        raise WFSError("OperationParsingFailed", f"bad coordinates: {e}") from e
    if dim != 2 or not values or len(values) % 2:
        raise WFSError("OperationParsingFailed", "only 2D coordinates are implemented")
    pairs = zip(values[0::2], values[1::2], strict=True)
    return ", ".join(f"{y!r} {x!r}" if swap else f"{x!r} {y!r}" for x, y in pairs)


def _children(el: etree._Element, *names: str) -> list[etree._Element]:
    return [c for c in el if namespace(c.tag) == GML and local_name(c.tag) in names]


def _ring(el: etree._Element, swap: bool) -> str:
    return f"({_positions(el, swap)})"


def _polygon(el: etree._Element, swap: bool) -> str:
    rings = [r for b in _children(el, "exterior", "interior") for r in _children(b, "LinearRing")]
    return "(" + ", ".join(_ring(r, swap) for r in rings) + ")"


def _members(el: etree._Element, member: str, kind: str) -> list[etree._Element]:
    return [g for m in _children(el, member, member + "s") for g in _children(m, kind)]


def _wkt(el: etree._Element, swap: bool) -> str:
    kind = local_name(el.tag) if namespace(el.tag) == GML else ""
    if kind == "Point":
        return f"POINT({_positions(el, swap)})"
    if kind == "LineString":
        return f"LINESTRING({_positions(el, swap)})"
    if kind == "Polygon":
        return f"POLYGON{_polygon(el, swap)}"
    if kind == "MultiPoint":
        points = _members(el, "pointMember", "Point")
        return "MULTIPOINT(" + ", ".join(f"({_positions(p, swap)})" for p in points) + ")"
    if kind == "MultiCurve":
        lines = _members(el, "curveMember", "LineString")
        return "MULTILINESTRING(" + ", ".join(f"({_positions(g, swap)})" for g in lines) + ")"
    if kind == "MultiSurface":
        polygons = _members(el, "surfaceMember", "Polygon")
        return "MULTIPOLYGON(" + ", ".join(_polygon(p, swap) for p in polygons) + ")"
    raise WFSError("OperationParsingFailed", f"unsupported geometry {el.tag}")


def geometry_sql(holder: etree._Element, layer: Layer, srs_name: str | None, st: Statement) -> str:
    """SQL for the one GML geometry inside `holder`, transformed into the table's SRID.
    Without srsName on the geometry the action's or the Transaction's applies, then the
    layer's own CRS."""
    geometries = [c for c in holder if isinstance(c.tag, str)]
    if len(geometries) != 1:
        raise WFSError("InvalidValue", "a geometry property holds one GML geometry", holder.tag)
    el = geometries[0]
    code, swap = crs(el.get("srsName") or srs_name or f"EPSG:{layer.srid}")
    wkt = _wkt(el, swap)
    return (
        f"ST_Transform(ST_GeomFromText({st.arg(wkt, 'text')}, {st.arg(code, 'int')}), {layer.srid})"
    )


def column(reference: str, el: etree._Element, layer: Layer) -> str:
    """The column a property name (`height_m`, `ms:height_m`, `msGeometry`) stands for."""
    prefix, _, name = reference.strip().rpartition(":")
    if prefix and el.nsmap.get(prefix) != layer.namespace:
        raise WFSError("InvalidParameterValue", f"unknown property '{reference}'", reference)
    if name == GEOMETRY_PROPERTY:
        return layer.geometry
    if name not in layer.columns or name == layer.geometry:
        raise WFSError("InvalidParameterValue", f"unknown property '{reference}'", reference)
    return name


def value_sql(
    el: etree._Element | None, col: str, layer: Layer, srs: str | None, st: Statement
) -> str:
    """SQL for a property value: NULL for a missing/nil value, a geometry, or a cast text."""
    if el is None or el.get(f"{{{XSI}}}nil") == "true":
        return "NULL"
    if col == layer.geometry:
        return geometry_sql(el, layer, srs, st)
    text = el.text or ""
    if any(isinstance(c.tag, str) for c in el):
        # MapServer types dates gml:TimeInstantType: <ms:last_update><gml:timePosition>…
        times = list(el.iter(f"{{{GML}}}timePosition"))
        if len(times) != 1:
            raise WFSError("InvalidValue", f"'{col}' takes a simple value", col)
        text = times[0].text or ""
    return st.text_as(text, layer.columns[col])


def feature_values(
    feature: etree._Element, layer: Layer, srs: str | None, st: Statement
) -> dict[str, str]:
    """column -> SQL value of a feature element (Insert, Replace); the key is the server's."""
    if namespace(feature.tag) != layer.namespace or local_name(feature.tag) != layer.name:
        raise WFSError("InvalidParameterValue", f"unknown feature type {feature.tag}", "typeName")
    values: dict[str, str] = {}
    for prop in feature:
        if not isinstance(prop.tag, str) or namespace(prop.tag) == GML:  # boundedBy, name …
            continue
        if namespace(prop.tag) != layer.namespace:
            raise WFSError("InvalidParameterValue", f"unknown property {prop.tag}", prop.tag)
        col = column(local_name(prop.tag), prop, layer)
        if col != layer.key:
            values[col] = value_sql(prop, col, layer, srs, st)
    return values


def rid_key(rid: str | None, layer: Layer) -> int:
    prefix, _, key = (rid or "").rpartition(".")
    if prefix != layer.name or not key.isdigit():
        raise WFSError("InvalidParameterValue", f"unknown resource id '{rid}'", "ResourceId")
    return int(key)


def where_sql(action: etree._Element, layer: Layer, st: Statement, *, required: bool) -> str:
    """The WHERE clause of an action's fes:Filter: ResourceIds, or one PropertyIsEqualTo."""
    filters = [c for c in action if c.tag == f"{{{FES}}}Filter"]
    if not filters:
        if required:
            raise WFSError("MissingParameterValue", "the action needs a fes:Filter", "Filter")
        return "TRUE"
    tests = [c for c in filters[0] if isinstance(c.tag, str)]
    if tests and all(t.tag == f"{{{FES}}}ResourceId" for t in tests):
        keys = [rid_key(t.get("rid"), layer) for t in tests]
        return f"{quote(layer.key)} = ANY({st.arg(keys, layer.columns[layer.key] + '[]')})"
    if len(tests) == 1 and tests[0].tag == f"{{{FES}}}PropertyIsEqualTo":
        refs = [c for c in tests[0] if c.tag == f"{{{FES}}}ValueReference"]
        literals = [c for c in tests[0] if c.tag == f"{{{FES}}}Literal"]
        if len(refs) == 1 and len(literals) == 1:
            col = column(refs[0].text or "", refs[0], layer)
            if col == layer.geometry:
                raise WFSError("OperationProcessingFailed", "no geometry comparisons", "Filter")
            return f"{quote(col)} = {st.text_as(literals[0].text or '', layer.columns[col])}"
    raise WFSError(
        "OperationProcessingFailed",
        "this server filters by fes:ResourceId or one fes:PropertyIsEqualTo only",
        "Filter",
    )


__all__ = [
    "FES",
    "GEOMETRY_PROPERTY",
    "GML",
    "WFS",
    "Layer",
    "Statement",
    "WFSError",
    "column",
    "crs",
    "feature_values",
    "geometry_sql",
    "quote",
    "rid_key",
    "value_sql",
    "where_sql",
]
