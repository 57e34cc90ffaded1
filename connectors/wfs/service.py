"""What a WFS 2.0 says about itself: its capabilities and a feature type's schema.

Both documents are fetched by the connector (async, through HttpEndpoint) and parsed here
with the hardened parser (connectors/remote/xml.py). OWSLib reads the capabilities' content
(feature types, CRS options, WGS84 boxes, the GetFeature output formats) from the checked
bytes, never fetching anything itself; what OWSLib 0.35 drops (the per-feature-type output
formats, the values of the OperationsMetadata constraints such as ImplementsResultPaging) is
read from the same tree. DescribeFeatureType is an XML schema, read here: the properties of
the feature type's complexType in order, typed from their XSD types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from connectors.base import FieldInfo, FieldType
from connectors.remote.xml import local_name

OWS = "http://www.opengis.net/ows/1.1"
WFS = "http://www.opengis.net/wfs/2.0"
XSD = "http://www.w3.org/2001/XMLSchema"
_NS = {"ows": OWS, "wfs": WFS, "xsd": XSD}
JSON_FORMAT = re.compile(r"application/(geo\+)?json|geojson", re.IGNORECASE)
GML32_FORMATS = ("application/gml+xml; version=3.2", "text/xml; subtype=gml/3.2.1")
GML31_FORMATS = ("text/xml; subtype=gml/3.1.1", "gml3")

_XSD_TYPES: dict[str, FieldType] = {
    **dict.fromkeys(
        [
            "integer",
            "long",
            "int",
            "short",
            "byte",
            "nonNegativeInteger",
            "positiveInteger",
            "negativeInteger",
            "nonPositiveInteger",
            "unsignedLong",
            "unsignedInt",
            "unsignedShort",
            "unsignedByte",
        ],
        "integer",
    ),
    **dict.fromkeys(("double", "float", "decimal"), "number"),
    "boolean": "boolean",
    "date": "date",
    "dateTime": "datetime",
    "TimeInstantType": "datetime",  # MapServer's type for date and timestamp columns
}
_GEOMETRY_TYPES = {
    "PointPropertyType": "Point",
    "MultiPointPropertyType": "MultiPoint",
    "LineStringPropertyType": "LineString",
    "CurvePropertyType": "LineString",
    "MultiLineStringPropertyType": "MultiLineString",
    "MultiCurvePropertyType": "MultiLineString",
    "PolygonPropertyType": "Polygon",
    "SurfacePropertyType": "Polygon",
    "MultiPolygonPropertyType": "MultiPolygon",
    "MultiSurfacePropertyType": "MultiPolygon",
    "GeometryPropertyType": "Geometry",
    "MultiGeometryPropertyType": "Geometry",
}


@dataclass(frozen=True)
class FeatureType:
    name: str  # as the capabilities list it, e.g. "ms:trees"
    crs: tuple[str, ...]  # DefaultCRS first, as the server writes them
    wgs84_bbox: tuple[float, float, float, float] | None
    output_formats: tuple[str, ...]  # of this type, else of the GetFeature operation


@dataclass(frozen=True)
class ServiceInfo:
    feature_types: dict[str, FeatureType]
    constraints: frozenset[str]  # OperationsMetadata constraints whose value is TRUE
    filter_capabilities: Any = None  # connectors.wfs.fes.FilterCapabilities when available
    count_default: int | None = None  # the server's CountDefault (its page size cap)
    operations: frozenset[str] = frozenset()  # the OperationsMetadata's operation names

    def transactions(self) -> str | None:
        """None when the service takes WFS-T 2.0 Transactions (it lists the operation and
        declares ImplementsTransactionalWFS TRUE), else what it lacks."""
        lacks = []
        if "Transaction" not in self.operations:
            lacks.append("no Transaction operation")
        if "ImplementsTransactionalWFS" not in self.constraints:
            lacks.append("no ImplementsTransactionalWFS TRUE")
        return " and ".join(lacks) or None

    def feature_type(self, name: str) -> FeatureType | None:
        """By full name ("ms:trees") or local name ("trees"), the latter when unambiguous."""
        if name in self.feature_types:
            return self.feature_types[name]
        local = [t for n, t in self.feature_types.items() if n.rsplit(":", 1)[-1] == name]
        return local[0] if len(local) == 1 else None


@dataclass(frozen=True)
class Schema:
    fields: tuple[FieldInfo, ...]
    geometry_name: str | None
    geometry_type: str | None
    namespace: str = ""
    types: dict[str, FieldType] = field(default_factory=dict)
    sequence: tuple[str, ...] = ()  # every property in schema order, the geometry included


def parse_capabilities(root: etree._Element, data: bytes, url: str) -> ServiceInfo:
    """The service's feature types and constraints; `data` are the bytes `root` came from
    (already accepted by the hardened parser), handed to OWSLib."""
    from owslib.wfs import WebFeatureService  # imported late: it replaces lxml's default parser

    if local_name(root.tag) != "WFS_Capabilities":
        raise ValueError(f"not WFS capabilities but <{local_name(root.tag)}>")
    service = WebFeatureService(url, version="2.0.0", xml=data)
    operation_formats = _operation_formats(service)
    per_type = _type_formats(root)
    types = {}
    for name, content in service.contents.items():
        box = content.boundingBoxWGS84
        types[name] = FeatureType(
            name=name,
            crs=tuple(str(c) for c in content.crsOptions),
            wgs84_bbox=tuple(float(v) for v in box[:4]) if box else None,  # type: ignore[arg-type]
            output_formats=per_type.get(name) or operation_formats,
        )
    constraints = _true_constraints(root)
    count = root.findtext(
        "ows:OperationsMetadata/ows:Constraint[@name='CountDefault']/ows:DefaultValue",
        namespaces=_NS,
    )
    return ServiceInfo(
        feature_types=types,
        constraints=constraints,
        filter_capabilities=_filter_capabilities(root),
        count_default=int(count) if count and count.strip().isdigit() else None,
        operations=frozenset(
            o.get("name", "") for o in root.iterfind("ows:OperationsMetadata/ows:Operation", _NS)
        ),
    )


def _operation_formats(service: Any) -> tuple[str, ...]:
    try:
        operation = service.getOperationByName("GetFeature")
    except KeyError:
        return ()
    values = operation.parameters.get("outputFormat", {}).get("values", [])
    return tuple(values)


def _type_formats(root: etree._Element) -> dict[str, tuple[str, ...]]:
    found = {}
    for ft in root.iterfind("wfs:FeatureTypeList/wfs:FeatureType", _NS):
        name = (ft.findtext("wfs:Name", namespaces=_NS) or "").strip()
        formats = tuple(
            (f.text or "").strip() for f in ft.iterfind("wfs:OutputFormats/wfs:Format", _NS)
        )
        if name and formats:
            found[name] = formats
    return found


def _true_constraints(root: etree._Element) -> frozenset[str]:
    names = set()
    for c in root.iterfind("ows:OperationsMetadata/ows:Constraint", _NS):
        value = c.findtext("ows:DefaultValue", namespaces=_NS) or ""
        if value.strip().upper() == "TRUE":
            names.add(c.get("name", ""))
    return frozenset(names)


def _filter_capabilities(root: etree._Element) -> Any:
    try:
        from connectors.wfs.fes import parse_filter_capabilities
    except ImportError:  # fes.py not merged yet: no filter pushdown
        return None
    return parse_filter_capabilities(root)


def choose_format(offered: tuple[str, ...], wanted: str) -> tuple[str, str]:
    """(kind, outputFormat value): kind "geojson" or "gml"; `wanted` is the config's
    output_format (auto, geojson, gml32, gml31). Raises ValueError when not offered."""
    json_formats = [f for f in offered if JSON_FORMAT.search(f)]
    gml32 = [f for f in offered if f in GML32_FORMATS or "gml/3.2" in f]
    gml31 = [f for f in offered if f in GML31_FORMATS or "gml/3.1" in f]
    options = {
        "geojson": [("geojson", f) for f in json_formats],
        "gml32": [("gml", f) for f in gml32],
        "gml31": [("gml", f) for f in gml31],
    }
    order = ["geojson", "gml32", "gml31"] if wanted == "auto" else [wanted]
    for kind in order:
        if options[kind]:
            return options[kind][0]
    if not offered and wanted in ("auto", "gml32"):
        return ("gml", GML32_FORMATS[0])  # WFS 2.0's default output
    raise ValueError(f"output format {wanted} not offered (offered: {', '.join(offered)})")


def parse_schema(root: etree._Element, type_name: str) -> Schema:
    """Fields and geometry of `type_name` from a DescribeFeatureType schema."""
    if local_name(root.tag) != "schema":
        raise ValueError(f"not an XML schema but <{local_name(root.tag)}>")
    local = type_name.rsplit(":", 1)[-1]
    element = root.find(f"xsd:element[@name='{_safe(local)}']", _NS)
    if element is None:
        raise ValueError(f"the schema declares no element '{local}'")
    type_ref = element.get("type", "").rsplit(":", 1)[-1]
    complex_type = root.find(f"xsd:complexType[@name='{_safe(type_ref)}']", _NS)
    if complex_type is None:
        raise ValueError(f"the schema declares no complexType '{type_ref}'")
    fields, types, sequence = [], {}, []
    geometry_name = geometry_type = None
    for prop in complex_type.iterfind(".//xsd:sequence/xsd:element", _NS):
        name = prop.get("name") or (prop.get("ref") or "").rsplit(":", 1)[-1]
        sequence.append(name)
        xsd_type = (prop.get("type") or _inline_base(prop)).rsplit(":", 1)[-1]
        if xsd_type in _GEOMETRY_TYPES:
            if geometry_name is None:
                geometry_name, geometry_type = name, _GEOMETRY_TYPES[xsd_type]
            continue
        kind: FieldType = _XSD_TYPES.get(xsd_type, "string")
        fields.append(FieldInfo(name, kind))
        types[name] = kind
    return Schema(
        fields=tuple(fields),
        geometry_name=geometry_name,
        geometry_type=geometry_type,
        namespace=root.get("targetNamespace", ""),
        types=types,
        sequence=tuple(sequence),
    )


def _inline_base(prop: etree._Element) -> str:
    """The base type of an inline simpleType restriction (string with maxLength …)."""
    restriction = prop.find("xsd:simpleType/xsd:restriction", _NS)
    return "" if restriction is None else restriction.get("base", "")


def _safe(name: str) -> str:
    if not re.fullmatch(r"[\w.\-]+", name):
        raise ValueError(f"'{name}' is not a name a schema declares")
    return name


__all__ = [
    "FeatureType",
    "Schema",
    "ServiceInfo",
    "choose_format",
    "parse_capabilities",
    "parse_schema",
]
