"""A WFS GetFeature answer in GML, read as a stream into flat records.

    features = GmlFeatures(chunks, fields=types, geometry_name="geom")
    await features.start()            # reads up to the root: number_matched is known
    async for record in features: ...

Bytes are fed to an lxml pull parser as they arrive; each feature is turned into a record
when its end tag is read and then cleared from the tree, with every sibling before it, so
memory holds one feature and one batch of records whatever the page size. Records are
`{"id", "properties", "geometry"}`: the id is the feature's gml:id (fid in GML 2), the
properties are the feature's child elements in source names typed by `fields` (the
DescribeFeatureType types, an empty element with an xlink:href its link; xsi:nil and a
missing element are None, and so is an empty one with `empty_is_null=True`: MapServer
writes a null string as `<ms:street></ms:street>`),
the geometry is GeoJSON in CRS84, moved there a batch of features at a time (gmlgeom.py).

Read: `wfs:FeatureCollection` of WFS 2.0 (`wfs:member`) and 1.1 / GML 3.1 and 2
(`gml:featureMember`, `gml:featureMembers`). An `ows:ExceptionReport` (or an OGC
ServiceExceptionReport) root, a truncated or malformed document, a DOCTYPE (no upstream
needs one: it is how entity bombs and XXE arrive; refused before parsing by
connectors/remote/xml.py, whose hardened pull parser reads the rest) or a
`wfs:truncatedResponse` is a SourceError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from lxml import etree

from connectors.base import FieldType, Record
from connectors.errors import SourceError
from connectors.remote.xml import PrologGuard, XMLRejected, ows_exception_text, pull_parser
from connectors.wfs.gmlgeom import GeometryReader, Shape, is_geometry, local, to_geojson

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_ID_ATTRIBUTES = ("{http://www.opengis.net/gml/3.2}id", "{http://www.opengis.net/gml}id", "fid")
_EXCEPTIONS = frozenset({"ExceptionReport", "ServiceExceptionReport"})
_WFS = ("http://www.opengis.net/wfs/2.0", "http://www.opengis.net/wfs")
_GML = ("http://www.opengis.net/gml/3.2", "http://www.opengis.net/gml")
_CONTAINERS = frozenset(  # the parents of features
    f"{{{ns}}}{name}"
    for ns in _WFS + _GML
    for name in ("member", "featureMember", "featureMembers")
)
_NESTED = frozenset(  # members that hold collections, not features
    f"{{{ns}}}{name}" for ns in _WFS for name in ("FeatureCollection", "additionalObjects")
)
_TRUNCATED = frozenset(f"{{{ns}}}truncatedResponse" for ns in _WFS)
_SKIPPED = frozenset({"boundedBy", "name", "description", "location"})
BATCH = 256  # features whose geometries are transformed together
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class GmlFeatures:
    """One GetFeature answer: `number_matched`/`number_returned` after `start()`, then the
    records by iterating."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        fields: Mapping[str, FieldType],
        geometry_name: str | None,
        crs: str | None = None,
        empty_is_null: bool = False,
    ) -> None:
        self._chunks = chunks
        self._empty_is_null = empty_is_null
        self._fields = dict(fields)
        self._geometry_name = geometry_name
        self._reader = GeometryReader(crs)
        self._parser = pull_parser(events=("end",))
        self._prolog = PrologGuard()
        self._events: list[Any] = []
        self._root: Any = None
        self._done = False
        self.number_matched: int | None = None
        self.number_returned: int | None = None

    async def start(self) -> GmlFeatures:
        """Read until the root element is known (and checked)."""
        while self._root is None:
            if not await self._feed():
                raise SourceError("empty or truncated GML answer")
        return self

    async def _feed(self) -> bool:
        """Feed one more chunk; False at the end of the stream."""
        if self._done:
            return False
        try:
            chunk = await anext(self._chunks, None)
            if chunk is None:
                self._done = True
                self._prolog.close()
                self._parser.close()
            else:
                self._prolog.feed(chunk)  # a DOCTYPE is refused before lxml sees it
                self._parser.feed(chunk)
            events = [elem for _, elem in self._parser.read_events()]
        except XMLRejected as e:
            raise SourceError(f"GML answer refused: {e}") from None
        except etree.XMLSyntaxError as e:
            raise SourceError(f"malformed GML: {e}") from None
        if events and self._root is None:
            self._open(events[0].getroottree().getroot())
        self._events.extend(events)
        return True

    def _open(self, root: Any) -> None:
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise SourceError("GML answer with a DOCTYPE refused")
        self._root = root
        if local(root.tag) in _EXCEPTIONS:
            return
        self.number_matched = _count(root.get("numberMatched") or root.get("numberOfFeatures"))
        self.number_returned = _count(root.get("numberReturned"))

    def __aiter__(self) -> AsyncIterator[Record]:
        return self._records()

    async def _records(self) -> AsyncIterator[Record]:
        await self.start()
        pending: list[tuple[Record, Shape | None]] = []
        while True:
            events, self._events = self._events, []
            pending.extend(self._handle(events))
            if len(pending) >= BATCH or (self._done and pending):
                for record in _finish(pending):
                    yield record
                pending = []
            if self._done and not self._events:
                return
            await self._feed()

    def _handle(self, ended: list[Any]) -> Iterator[tuple[Record, Shape | None]]:
        """Records of the features among elements just ended (end events only: a feature
        of ten properties costs ten events, not twenty)."""
        root = self._root
        failed = local(root.tag) in _EXCEPTIONS
        for elem in ended:
            parent = elem.getparent()
            if parent is None:  # the root itself
                if failed:
                    raise SourceError(f"WFS exception: {ows_exception_text(root, limit=1000)}")
            elif failed:
                continue
            elif parent.tag in _CONTAINERS and elem.tag not in _NESTED:
                yield self._record(elem)
                _drop(elem)
            elif elem.tag in _TRUNCATED:
                raise SourceError("the WFS truncated its answer")
            elif parent is root:
                _drop(elem)

    def _record(self, feature: Any) -> tuple[Record, Shape | None]:
        get = feature.get
        record_id = get(_ID_ATTRIBUTES[0]) or get(_ID_ATTRIBUTES[1]) or get(_ID_ATTRIBUTES[2])
        properties: dict[str, Any] = dict.fromkeys(self._fields)
        shape: Shape | None = None
        for child in feature:
            name = local(child.tag)
            if name in _SKIPPED and name not in self._fields:
                continue
            if len(child):  # elements inside: a geometry, a time, nested values
                geometry = next((g for g in child if is_geometry(g)), None)
                if geometry is not None:
                    if shape is None and self._geometry_name in (None, name):
                        shape = self._reader.read(geometry)
                    continue
            properties[name] = self._value(name, child)
        if self._geometry_name is not None:
            properties.pop(self._geometry_name, None)
        return {"id": record_id, "properties": properties, "geometry": None}, shape

    def _value(self, name: str, elem: Any) -> Any:
        if elem.get(XSI_NIL) in ("true", "1"):
            return None
        text = (elem.text if len(elem) == 0 else "".join(elem.itertext())) or ""
        if not text.strip() and elem.get(XLINK_HREF):
            text = elem.get(XLINK_HREF)  # a reference by link (XPlanung's plan documents)
        if not text and self._empty_is_null:
            return None
        return typed(name, text.strip(), self._fields.get(name, "string"))


def typed(name: str, text: str, kind: str) -> Any:
    """A property's text as its DescribeFeatureType type (empty text: null but for strings)."""
    if kind == "string" or kind == "json":
        return text
    if not text:
        return None
    try:
        if kind == "integer":
            return int(text) if text.lstrip("+-").isdigit() else _integral(text)
        if kind == "number":
            return float(text)
    except ValueError:
        raise SourceError(f"'{name}' is not a {kind}: {text[:40]!r}") from None
    if kind == "boolean":
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise SourceError(f"'{name}' is not a boolean: {text[:40]!r}")
    return text  # date, datetime: ISO text, as every connector gives them


def _integral(text: str) -> int:
    value = float(text)
    if not value.is_integer():
        raise ValueError(text)
    return int(value)


def _count(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _drop(elem: Any) -> None:
    """Free a handled element and everything before it under its parent."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _finish(pending: list[tuple[Record, Shape | None]]) -> list[Record]:
    geometries = to_geojson([shape for _, shape in pending])
    for (record, _), geometry in zip(pending, geometries, strict=True):
        record["geometry"] = geometry
    return [record for record, _ in pending]


async def parse_feature_collection(
    chunks: AsyncIterator[bytes],
    *,
    fields: Mapping[str, FieldType],
    geometry_name: str | None,
    crs: str | None = None,
    empty_is_null: bool = False,
) -> AsyncIterator[Record]:
    """The records of a GML answer (use GmlFeatures to read numberMatched first)."""
    features = GmlFeatures(
        chunks, fields=fields, geometry_name=geometry_name, crs=crs, empty_is_null=empty_is_null
    )
    async for record in features:
        yield record


__all__ = ["GmlFeatures", "parse_feature_collection", "typed"]
