"""GetFeature requests: KVP for a GET, the same query as XML for a POST.

KVP is what every WFS 2.0 answers and what caches and logs show best, so a request goes as
a GET unless its URL would exceed the endpoint's max_url_length (a long FES filter); then it
goes as the equivalent `wfs:GetFeature` document by POST (never retried). BBOX and FILTER
are exclusive in KVP: with a filter the box travels inside it (fes:BBOX, And).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

from lxml import etree

from connectors.remote.xml import parser

WFS = "http://www.opengis.net/wfs/2.0"
FES = "http://www.opengis.net/fes/2.0"
GML = "http://www.opengis.net/gml/3.2"


@dataclass(frozen=True)
class GetFeature:
    type_name: str
    srs_name: str
    output_format: str
    count: int | None = None
    start_index: int = 0
    bbox: tuple[float, float, float, float] | None = None  # in srs_name, its axis order
    geometry_name: str | None = None  # the property a bbox applies to (in a POST)
    filter_xml: str | None = None  # a <fes:Filter> document
    sortby: str | None = None  # "name ASC,other DESC"
    resource_id: str | None = None
    hits: bool = False
    namespaces: dict[str, str] = field(default_factory=dict)  # prefix -> uri of type_name

    def page(self, start_index: int, count: int | None) -> GetFeature:
        return replace(self, start_index=start_index, count=count)


def kvp(request: GetFeature) -> dict[str, str]:
    params = {
        "SERVICE": "WFS",
        "VERSION": "2.0.0",
        "REQUEST": "GetFeature",
        "TYPENAMES": request.type_name,
        "SRSNAME": request.srs_name,
    }
    if request.hits:
        params["RESULTTYPE"] = "hits"
    else:
        params["OUTPUTFORMAT"] = request.output_format
    if request.count is not None:
        params["COUNT"] = str(request.count)
    if request.start_index:
        params["STARTINDEX"] = str(request.start_index)
    if request.resource_id is not None:
        params["RESOURCEID"] = request.resource_id
    elif request.filter_xml is not None:
        params["FILTER"] = request.filter_xml
    elif request.bbox is not None:
        params["BBOX"] = ",".join(repr(v) for v in request.bbox) + f",{request.srs_name}"
    if request.sortby:
        params["SORTBY"] = request.sortby
    if request.namespaces:
        params["NAMESPACES"] = ",".join(
            f"xmlns({prefix},{uri})" for prefix, uri in request.namespaces.items()
        )
    return params


def kvp_url(base: str, request: GetFeature) -> str:
    joiner = "&" if "?" in base else "?"
    return base + joiner + urlencode(kvp(request), quote_via=quote, safe=",()")


def xml_body(request: GetFeature) -> bytes:
    """The request as a `wfs:GetFeature` document (for a POST)."""
    nsmap = {"wfs": WFS, "fes": FES, "gml": GML, **request.namespaces}
    root = etree.Element(f"{{{WFS}}}GetFeature", nsmap=nsmap)
    root.set("service", "WFS")
    root.set("version", "2.0.0")
    if request.hits:
        root.set("resultType", "hits")
    else:
        root.set("outputFormat", request.output_format)
    if request.count is not None:
        root.set("count", str(request.count))
    if request.start_index:
        root.set("startIndex", str(request.start_index))
    query = etree.SubElement(root, f"{{{WFS}}}Query")
    query.set("typeNames", request.type_name)
    query.set("srsName", request.srs_name)
    filter_xml = request.filter_xml
    if filter_xml is None and request.bbox is not None and request.geometry_name:
        filter_xml = bbox_filter(request.geometry_name, request.bbox, request.srs_name)
    if filter_xml is not None:
        query.append(etree.fromstring(filter_xml, parser()))
    if request.sortby:
        sort = etree.SubElement(query, f"{{{FES}}}SortBy")
        for key in request.sortby.split(","):
            name, _, order = key.partition(" ")
            prop = etree.SubElement(sort, f"{{{FES}}}SortProperty")
            etree.SubElement(prop, f"{{{FES}}}ValueReference").text = name
            etree.SubElement(prop, f"{{{FES}}}SortOrder").text = order or "ASC"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def equal_to(name: str, value: str) -> str:
    """A `<fes:Filter>` selecting `name = value` (get by an id property)."""
    root = etree.Element(f"{{{FES}}}Filter", nsmap={"fes": FES})
    comparison = etree.SubElement(root, f"{{{FES}}}PropertyIsEqualTo")
    etree.SubElement(comparison, f"{{{FES}}}ValueReference").text = name
    etree.SubElement(comparison, f"{{{FES}}}Literal").text = value
    return etree.tostring(root, encoding="unicode")


def _bbox(parent: etree._Element, geometry_name: str, bbox: tuple[float, ...], srs: str) -> None:
    box = etree.SubElement(parent, f"{{{FES}}}BBOX")
    etree.SubElement(box, f"{{{FES}}}ValueReference").text = geometry_name
    envelope = etree.SubElement(box, f"{{{GML}}}Envelope", srsName=srs)
    etree.SubElement(envelope, f"{{{GML}}}lowerCorner").text = f"{bbox[0]!r} {bbox[1]!r}"
    etree.SubElement(envelope, f"{{{GML}}}upperCorner").text = f"{bbox[2]!r} {bbox[3]!r}"


def bbox_filter(geometry_name: str, bbox: tuple[float, ...], srs_name: str) -> str:
    """A `<fes:Filter>` with the BBOX alone (the KVP BBOX of a request sent by POST)."""
    root = etree.Element(f"{{{FES}}}Filter", nsmap={"fes": FES, "gml": GML})
    _bbox(root, geometry_name, bbox, srs_name)
    return etree.tostring(root, encoding="unicode")


def and_bbox(filter_xml: str, geometry_name: str, bbox: tuple[float, ...], srs_name: str) -> str:
    """`filter_xml` AND the geometry within the box (KVP cannot send both)."""
    parsed = etree.fromstring(filter_xml, parser())
    root = etree.Element(f"{{{FES}}}Filter", nsmap={"fes": FES, "gml": GML})
    both = etree.SubElement(root, f"{{{FES}}}And")
    _bbox(both, geometry_name, bbox, srs_name)
    for child in parsed:
        both.append(child)
    return etree.tostring(root, encoding="unicode")


__all__ = ["GetFeature", "and_bbox", "bbox_filter", "equal_to", "kvp", "kvp_url", "xml_body"]
