"""WFS-T 2.0 Transaction documents, and what the server answers to them.

One action per document: `wfs:Insert` of one feature, `wfs:Replace` of a whole feature,
`wfs:Update` of some properties (one `wfs:Property` each; a Property without a Value sets
NULL), `wfs:Delete`. Properties go in the order of the feature type's schema
(DescribeFeatureType), in its namespace and under the prefix the capabilities name it with;
values are written as XSD lexicals of the property's type, None left out (the server stores
NULL). The geometry is GML 3.2 in the CRS the reads ask for, with that CRS's axis order
(connectors/wfs/gmlwrite.py): only its vertices moved, every digit kept.

A feature is selected as the read path selects it: by `fes:ResourceId` (its gml:id), or by
`fes:PropertyIsEqualTo` on the configured id field. The answer is a `wfs:TransactionResponse`
(its totals, and for an insert the new feature's `fes:ResourceId`) or an
`ows:ExceptionReport`: the server's refusal of the request or of a value (400), a conflict
with stored data (409: a duplicate key), or its failure (502), told apart by the exception
code and text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import shapely
from lxml import etree

from connectors.base import FieldType, Record
from connectors.errors import SourceConflict, SourceError, SourceRefused, SourceRejectedValue
from connectors.remote.xml import XMLRejected, local_name, namespace, parse_xml, parser
from connectors.wfs.gmlwrite import GML, GmlWriter
from connectors.wfs.request import FES, WFS, equal_to
from connectors.wfs.service import Schema

OWS_CODES_REFUSED = frozenset(
    {
        "InvalidParameterValue",
        "OperationParsingFailed",
        "MissingParameterValue",
        "OptionNotSupported",
        "OperationNotSupported",
    }
)
_DUPLICATE = re.compile(r"duplicate|already exists|unique constraint|unique violation", re.I)
_NCNAME = re.compile(r"[A-Za-z_][\w.\-]*")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TOTALS = ("totalInserted", "totalUpdated", "totalReplaced", "totalDeleted")
_NS = {"wfs": WFS, "fes": FES}


@dataclass(frozen=True)
class FeatureKind:
    """What a Transaction needs to know of the feature type it writes."""

    type_name: str  # as the capabilities list it: "ms:trees"
    schema: Schema
    srs: str  # the CRS the reads ask for
    id_field: str | None

    @property
    def prefix(self) -> str:
        prefix, _, local = self.type_name.rpartition(":")
        return prefix if prefix and local else "ft"

    @property
    def local(self) -> str:
        return self.type_name.rpartition(":")[2]

    def tag(self, name: str) -> str:
        ns = self.schema.namespace
        return f"{{{ns}}}{name}" if ns else name

    def reference(self, name: str) -> str:
        """A property as an XPath in the document's namespaces (`ms:height`)."""
        return f"{self.prefix}:{name}" if self.schema.namespace else name


@dataclass(frozen=True)
class Summary:
    """A TransactionResponse: its totals and the new features' resource ids."""

    inserted: int = 0
    updated: int = 0
    replaced: int = 0
    deleted: int = 0
    inserted_ids: tuple[str, ...] = ()


# --- documents --------------------------------------------------------------------------


def insert(kind: FeatureKind, record: Record) -> bytes:
    """`wfs:Insert` of `record` (source names; geometry GeoJSON in CRS84). A given id is
    offered as the id field's value, or as gml:id where it can be one; which id the feature
    gets is the server's say."""
    root, writer = _transaction(kind)
    given = record.get("id")
    gml_id = str(given) if given is not None and _NCNAME.fullmatch(str(given)) else None
    props = record.get("properties") or {}
    if kind.id_field is not None and given is not None and props.get(kind.id_field) is None:
        record = {**record, "properties": {**props, kind.id_field: given}}  # the id field's
    feature = _feature(kind, writer, record, gml_id or f"{kind.local}.new")
    etree.SubElement(root, f"{{{WFS}}}Insert").append(feature)
    return _bytes(root)


def replace(kind: FeatureKind, record_id: str, record: Record) -> bytes:
    """`wfs:Replace` of the whole feature: properties left out or None become NULL. With an
    id field, the feature keeps its id whatever the record says."""
    root, writer = _transaction(kind)
    props = dict(record.get("properties") or {})
    if kind.id_field is not None:
        props[kind.id_field] = record_id
    element = etree.SubElement(root, f"{{{WFS}}}Replace")
    element.append(_feature(kind, writer, {**record, "properties": props}, _gml_id(record_id)))
    element.append(_filter(kind, record_id))
    return _bytes(root)


def update(kind: FeatureKind, record_id: str, changes: Record) -> bytes:
    """`wfs:Update` of the given properties (None: a Property without Value, NULL) and,
    when `changes` has the key, of the geometry."""
    root, writer = _transaction(kind)
    element = etree.SubElement(root, f"{{{WFS}}}Update", typeName=kind.type_name)
    props: dict[str, Any] = changes.get("properties") or {}
    _check_names(kind, props)
    values: list[tuple[str, Any]] = list(props.items())
    if "geometry" in changes:
        values.append(_geometry_entry(kind, changes["geometry"]))
    for name, value in values:
        prop = etree.SubElement(element, f"{{{WFS}}}Property")
        etree.SubElement(prop, f"{{{WFS}}}ValueReference").text = kind.reference(name)
        if value is None:
            continue
        holder = etree.SubElement(prop, f"{{{WFS}}}Value")
        if name == kind.schema.geometry_name:
            holder.append(_gml(writer, value))
        else:
            holder.text = literal(name, value, kind.schema.types[name])
    element.append(_filter(kind, record_id))
    return _bytes(root)


def delete(kind: FeatureKind, record_id: str) -> bytes:
    root, _ = _transaction(kind)
    element = etree.SubElement(root, f"{{{WFS}}}Delete", typeName=kind.type_name)
    element.append(_filter(kind, record_id))
    return _bytes(root)


def changes_anything(changes: Record) -> bool:
    return bool(changes.get("properties")) or "geometry" in changes


def _transaction(kind: FeatureKind) -> tuple[etree._Element, GmlWriter]:
    nsmap = {"wfs": WFS, "fes": FES, "gml": GML}
    if kind.schema.namespace:
        nsmap[kind.prefix] = kind.schema.namespace
    root = etree.Element(f"{{{WFS}}}Transaction", nsmap=nsmap)
    root.set("service", "WFS")
    root.set("version", "2.0.0")
    return root, GmlWriter(kind.srs, exact=True)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _feature(kind: FeatureKind, writer: GmlWriter, record: Record, gml_id: str) -> etree._Element:
    """The feature element: its properties in schema order, None and absent ones left out."""
    props: dict[str, Any] = record.get("properties") or {}
    _check_names(kind, props)
    schema = kind.schema
    feature = etree.Element(kind.tag(kind.local))
    feature.set(f"{{{GML}}}id", gml_id)
    for name in schema.sequence or (*schema.types, schema.geometry_name):
        if name is None:
            continue
        if name == schema.geometry_name:
            value = record.get("geometry")
            if value is not None:
                etree.SubElement(feature, kind.tag(name)).append(_gml(writer, value))
        elif props.get(name) is not None:
            text = literal(name, props[name], schema.types.get(name, "string"))
            etree.SubElement(feature, kind.tag(name)).text = text
    return feature


def _check_names(kind: FeatureKind, props: dict[str, Any]) -> None:
    for name in props:
        if name not in kind.schema.types:
            raise SourceRejectedValue(f"{kind.type_name} has no property '{name}'")


def _geometry_entry(kind: FeatureKind, geometry: Any) -> tuple[str, Any]:
    if kind.schema.geometry_name is None:
        raise SourceRejectedValue(f"{kind.type_name} has no geometry property")
    return kind.schema.geometry_name, geometry


def _gml(writer: GmlWriter, geometry: dict[str, Any]) -> etree._Element:
    try:
        shape = shapely.from_geojson(orjson.dumps(geometry))
        return writer.geometry(shape)
    except (shapely.errors.ShapelyError, ValueError) as e:
        raise SourceRejectedValue(f"a geometry the WFS cannot take: {e}") from None


def _gml_id(record_id: str) -> str:
    return record_id if _NCNAME.fullmatch(record_id) else "twinbridge.feature"


def _filter(kind: FeatureKind, record_id: str) -> etree._Element:
    """Selects the feature as the read path does: its resource id, or its id field."""
    if kind.id_field is None:
        root = etree.Element(f"{{{FES}}}Filter", nsmap={"fes": FES})
        etree.SubElement(root, f"{{{FES}}}ResourceId", rid=record_id)
        return root
    kind_of = kind.schema.types.get(kind.id_field, "string")
    value = literal(kind.id_field, record_id, kind_of)
    return etree.fromstring(equal_to(kind.reference(kind.id_field), value), parser())


def literal(name: str, value: Any, kind: FieldType) -> str:
    """`value` as the XSD lexical of the property's type; SourceRejectedValue (400) for a
    value that is not of it."""
    try:
        text = _LITERALS[kind](value)
    except (TypeError, ValueError, OverflowError) as e:
        raise SourceRejectedValue(f"property '{name}': {value!r:.80} is not a {kind}") from e
    if not xml_text(text):
        raise SourceRejectedValue(f"property '{name}': a character XML cannot carry")
    return text


def xml_text(text: str) -> bool:
    """False for text with a character XML 1.0 cannot carry (NUL, most controls)."""
    return _NOT_XML.search(text) is None


def _integer(value: Any) -> str:
    if isinstance(value, bool):
        raise TypeError("a boolean")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("not whole")
    return str(int(value))


def _number(value: Any) -> str:
    if isinstance(value, bool):
        raise TypeError("a boolean")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return repr(number)


def _boolean(value: Any) -> str:
    if isinstance(value, str) and value in ("true", "false", "1", "0"):
        return "true" if value in ("true", "1") else "false"
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return "true" if value else "false"


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        raise TypeError("a timestamp")
    if isinstance(value, date):
        return value.isoformat()
    return date.fromisoformat(str(value)).isoformat()


def _datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    datetime.fromisoformat(text.replace("Z", "+00:00"))
    return text


def _string(value: Any) -> str:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_LITERALS = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "string": _string,
    "json": _string,
}


# --- answers ----------------------------------------------------------------------------


def summary(source: str, status: int, body: bytes) -> Summary:
    """The TransactionResponse's totals and inserted ids; an ExceptionReport raises by its
    meaning, anything else is the server failing (SourceError, 502)."""
    if not body.lstrip().startswith(b"<"):
        raise SourceError(f"{source}: the WFS answered a Transaction {status} with no XML")
    try:
        root = parse_xml(body)
    except XMLRejected as e:
        raise SourceError(f"{source}: unreadable Transaction answer: {e}") from e
    if local_name(root.tag) in ("ExceptionReport", "ServiceExceptionReport"):
        if _codes(root)[:1] == ["NotFound"]:  # a server that says so instead of a zero total
            return Summary()
        raise _refusal(source, root)
    if local_name(root.tag) != "TransactionResponse" or namespace(root.tag) != WFS:
        raise SourceError(f"{source}: a Transaction answered <{local_name(root.tag)[:40]}>")
    if status >= 400:
        raise SourceError(f"{source}: the WFS answered a Transaction {status}")
    totals = [
        _count(root.findtext(f"wfs:TransactionSummary/wfs:{t}", namespaces=_NS)) for t in _TOTALS
    ]
    rids = tuple(
        e.get("rid", "") for e in root.iterfind("wfs:InsertResults/wfs:Feature/fes:ResourceId", _NS)
    )
    return Summary(*totals, inserted_ids=rids)


def _count(text: str | None) -> int:
    text = (text or "").strip()
    return int(text) if text.isdigit() else 0


def _codes(root: etree._Element) -> list[str]:
    found = (e.get("exceptionCode") or e.get("code") or "" for e in root.iter() if _is_exception(e))
    return [c for c in found if c]


def _refusal(source: str, root: etree._Element) -> Exception:
    texts = [
        " ".join((e.text or "").split())
        for e in root.iter()
        if local_name(e.tag) in ("ExceptionText", "ServiceException")
    ]
    code = next(iter(_codes(root)), "NoApplicableCode")
    said = f"{code}: {'; '.join(t for t in texts if t)}"[:300]
    if _DUPLICATE.search(said):
        return SourceConflict(f"{source}: the WFS refused the Transaction: {said}")
    if code == "InvalidValue":  # WFS 2.0: a value the server cannot store (NOT NULL, range)
        return SourceRejectedValue(f"{source}: the WFS refused a value: {said}")
    if code in OWS_CODES_REFUSED:
        status = 405 if code == "OperationNotSupported" else 400
        return SourceRefused(status, f"{source}: the WFS refused the Transaction: {said}")
    return SourceError(f"{source}: the WFS failed the Transaction: {said}", answer=said)


def _is_exception(elem: etree._Element) -> bool:
    return local_name(elem.tag) in ("Exception", "ServiceException")


__all__ = [
    "FeatureKind",
    "Summary",
    "changes_anything",
    "delete",
    "insert",
    "literal",
    "replace",
    "summary",
    "update",
    "xml_text",
]
