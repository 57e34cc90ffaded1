"""TEMPORARY stand-in for connectors/wfs/gml.py (the FES engineer's streamed GML parser):
delete this file when gml.py is on main; connectors/wfs/pages.py prefers gml.py already.

Reads a GetFeature answer in GML 3.2 or 3.1 as it arrives (hardened pull parser, DOCTYPE
refused), one feature at a time, clearing what it has read so memory stays flat. Yields
records in source names with a shapely geometry in the answer's CRS, x/y order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import shapely
from lxml import etree

from connectors.base import FieldType, Record
from connectors.remote.xml import PrologGuard, XMLRejected, local_name, pull_parser
from connectors.wfs.axes import lat_first

GML_NAMESPACES = ("http://www.opengis.net/gml/3.2", "http://www.opengis.net/gml")
_MEMBERS = frozenset({"member", "featureMember", "featureMembers"})


class CollectionError(ValueError):
    """The answer is not a feature collection (`report` holds an exception report's root)."""

    def __init__(self, message: str, report: etree._Element | None = None) -> None:
        super().__init__(message)
        self.report = report


async def parse_feature_collection(
    chunks: AsyncIterator[bytes],
    *,
    fields: Mapping[str, FieldType],
    geometry_name: str | None,
    crs: str,
) -> AsyncIterator[Record]:
    guard, parser = PrologGuard(), pull_parser(("start", "end"))
    swap = lat_first(crs)
    root: etree._Element | None = None
    async for chunk in chunks:
        guard.feed(chunk)
        parser.feed(chunk)
        for event, elem in parser.read_events():
            if root is None:
                root = elem
                if local_name(elem.tag) == "ExceptionReport":
                    continue
                if local_name(elem.tag) != "FeatureCollection":
                    raise CollectionError(f"not a feature collection: <{local_name(elem.tag)}>")
            if event == "end" and _is_feature(elem, root):
                yield _record(elem, fields, geometry_name, swap)
                member = elem.getparent()
                elem.clear()
                while member is not None and member.getprevious() is not None:
                    del root[0]
    guard.close()
    try:
        parser.close()
    except etree.XMLSyntaxError as e:
        raise XMLRejected(f"malformed GML: {e}") from e
    if root is not None and local_name(root.tag) == "ExceptionReport":
        raise CollectionError("an exception report", root)


def _is_feature(elem: etree._Element, root: etree._Element) -> bool:
    member = elem.getparent()
    return (
        member is not None
        and member.getparent() is root
        and local_name(member.tag) in _MEMBERS
        and local_name(root.tag) == "FeatureCollection"
    )


def _record(
    feature: etree._Element,
    fields: Mapping[str, FieldType],
    geometry_name: str | None,
    swap: bool,
) -> Record:
    properties: dict[str, Any] = dict.fromkeys(fields)
    geometry = None
    for child in feature:
        name = local_name(child.tag)
        if not name or etree.QName(child).namespace in GML_NAMESPACES:
            continue
        if name == geometry_name:
            geometry = _geometry(child[0], swap) if len(child) else None
        else:
            properties[name] = _value(child, fields.get(name, "string"))
    fid = None
    for ns in GML_NAMESPACES:
        fid = fid or feature.get(f"{{{ns}}}id")
    return {"id": fid or feature.get("fid"), "properties": properties, "geometry": geometry}


def _value(elem: etree._Element, kind: FieldType) -> Any:
    if elem.get("{http://www.w3.org/2001/XMLSchema-instance}nil") in ("true", "1"):
        return None
    text = elem.text if len(elem) == 0 else next((e.text for e in elem.iter() if e.text), None)
    if text is None:
        return "" if kind == "string" else None
    text = text.strip()
    convert = _CONVERT.get(kind)
    return convert(text) if convert else text


_CONVERT: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "number": float,
    "boolean": lambda t: t.lower() in ("true", "1"),
}


def _coords(elem: etree._Element, swap: bool) -> list[tuple[float, float]]:
    """The coordinates of a geometry element's direct pos/posList/coordinates children."""
    points: list[tuple[float, float]] = []
    for child in elem:
        name = local_name(child.tag)
        if name in ("pos", "posList"):
            dim = int(child.get("srsDimension") or elem.get("srsDimension") or 2)
            values = [float(v) for v in (child.text or "").split()]
            points.extend(tuple(values[i : i + 2]) for i in range(0, len(values), dim))
        elif name == "coordinates":
            for pair in (child.text or "").split():
                x, y = pair.split(",")[:2]
                points.append((float(x), float(y)))
        elif name == "pointProperty" and len(child):
            points.extend(_coords(child[0], False))
    return [(y, x) for x, y in points] if swap else points


def _ring(elem: etree._Element, swap: bool) -> list[tuple[float, float]]:
    ring = elem[0] if len(elem) else elem  # exterior/interior -> LinearRing
    return _coords(ring, swap)


def _polygon(elem: etree._Element, swap: bool) -> shapely.Polygon:
    shell, holes = None, []
    for child in elem:
        name = local_name(child.tag)
        if name in ("exterior", "outerBoundaryIs"):
            shell = _ring(child, swap)
        elif name in ("interior", "innerBoundaryIs"):
            holes.append(_ring(child, swap))
    return shapely.Polygon(shell, holes)


def _parts(elem: etree._Element, swap: bool) -> list[shapely.Geometry]:
    parts = []
    for member in elem:
        for geom in member if len(member) else ():
            parts.append(_geometry(geom, swap))
    return parts


def _geometry(elem: etree._Element, swap: bool) -> shapely.Geometry:
    name = local_name(elem.tag)
    if name == "Point":
        return shapely.Point(_coords(elem, swap)[0])
    if name in ("LineString", "LineStringSegment"):
        return shapely.LineString(_coords(elem, swap))
    if name in ("Polygon", "PolygonPatch"):
        return _polygon(elem, swap)
    if name == "Curve":
        segments = [_coords(s, swap) for s in elem.iterfind(".//{*}LineStringSegment")]
        return shapely.LineString([p for seg in segments for p in seg])
    if name == "Surface":
        return _polygon(next(elem.iterfind(".//{*}PolygonPatch")), swap)
    parts = _parts(elem, swap)
    if name == "MultiPoint":
        return shapely.MultiPoint(parts)
    if name in ("MultiLineString", "MultiCurve"):
        return shapely.MultiLineString(parts)
    if name in ("MultiPolygon", "MultiSurface"):
        return shapely.MultiPolygon(parts)
    if name == "MultiGeometry":
        return shapely.GeometryCollection(parts)
    raise XMLRejected(f"unsupported GML geometry <{name}>")


__all__ = ["CollectionError", "parse_feature_collection"]
