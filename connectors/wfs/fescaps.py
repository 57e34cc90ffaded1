"""What a WFS 2.0 server declares about filtering and sorting, and the id and sort
parameters built from it (fes.py renders filters against these declarations).

`FilterCapabilities` holds the operators and conformance constraints of a
`fes:Filter_Capabilities` element; `sortable` says whether SORTBY would order like the
gateway (MapServer 8 over PostGIS sorts every column as text, see its docstring).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from connectors.base import FieldType

FES = "http://www.opengis.net/fes/2.0"
OWS = "http://www.opengis.net/ows/1.1"
_F = f"{{{FES}}}"


@dataclass(frozen=True)
class FilterCapabilities:
    """What a WFS 2.0 server declares in `fes:Filter_Capabilities`."""

    constraints: frozenset[str] = frozenset()  # conformance constraints whose value is TRUE
    logical: bool = False
    comparison: frozenset[str] = frozenset()  # PropertyIsEqualTo, PropertyIsLike, …
    spatial: frozenset[str] = frozenset()  # BBOX, Intersects, DWithin, …
    geometry_operands: frozenset[str] = frozenset()  # local names: Point, Polygon, Envelope…
    temporal: frozenset[str] = frozenset()  # During, After, …
    temporal_operands: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    resource_identifiers: frozenset[str] = field(default_factory=frozenset)

    def implements(self, constraint: str) -> bool:
        """e.g. `implements("ImplementsSorting")`."""
        return constraint in self.constraints

    @property
    def sorting(self) -> bool:
        return self.implements("ImplementsSorting")

    @property
    def resource_id(self) -> bool:
        return self.implements("ImplementsResourceId") or bool(self.resource_identifiers)


def _local(name: str | None) -> str:
    return (name or "").rsplit(":", 1)[-1]


def _names(elem: etree._Element, path: str) -> frozenset[str]:
    return frozenset(_local(e.get("name")) for e in elem.iterfind(path, {"fes": FES}))


def parse_filter_capabilities(elem: etree._Element) -> FilterCapabilities:
    """The capabilities in `elem`: a `fes:Filter_Capabilities` element or a document
    holding one (a WFS_Capabilities root). No element: nothing declared."""
    if elem.tag != _F + "Filter_Capabilities":
        found = elem.find(f".//{_F}Filter_Capabilities")
        if found is None:
            return FilterCapabilities()
        elem = found
    constraints = set()
    for constraint in elem.iterfind(f"{_F}Conformance/{_F}Constraint"):
        value = constraint.findtext(f"{{{OWS}}}DefaultValue") or ""
        if value.strip().upper() == "TRUE":
            constraints.add(constraint.get("name", ""))
    return FilterCapabilities(
        constraints=frozenset(constraints),
        logical=elem.find(f"{_F}Scalar_Capabilities/{_F}LogicalOperators") is not None,
        comparison=_names(elem, "fes:Scalar_Capabilities/fes:ComparisonOperators/*"),
        spatial=_names(elem, "fes:Spatial_Capabilities/fes:SpatialOperators/*"),
        geometry_operands=_names(elem, "fes:Spatial_Capabilities/fes:GeometryOperands/*"),
        temporal=_names(elem, "fes:Temporal_Capabilities/fes:TemporalOperators/*"),
        temporal_operands=_names(elem, "fes:Temporal_Capabilities/fes:TemporalOperands/*"),
        functions=_names(elem, "fes:Functions/fes:Function"),
        resource_identifiers=_names(elem, "fes:Id_Capabilities/fes:ResourceIdentifier"),
    )


def render_sortby(keys: Iterable[tuple[str, bool]]) -> str:
    """The SORTBY KVP value: `name ASC,other DESC`."""
    return ",".join(f"{name} {'ASC' if ascending else 'DESC'}" for name, ascending in keys)


def sortable(
    caps: FilterCapabilities,
    types: Mapping[str, FieldType],
    keys: Iterable[tuple[str, bool]],
    *,
    ordered_strings: bool = False,
    typed_sort: bool = False,
) -> bool:
    """Would SORTBY order like the gateway (nulls last either way, numbers by value,
    strings by code point)? By default only ascending dates qualify: a database sorts nulls
    first when descending, text by its collation, and MapServer 8 over PostGIS sorts every
    column as text (it orders by the `col::text` it selects: 1, 10, 100, 2), which ISO dates
    survive. `typed_sort`: the server sorts numbers as numbers; `ordered_strings`: it sorts
    text by code point. Any SORTBY still gives paging a stable order."""
    if not caps.sorting:
        return False
    allowed = {"date"} | ({"integer", "number"} if typed_sort else set())
    allowed |= {"string"} if ordered_strings else set()
    return all(ascending and types.get(name) in allowed for name, ascending in keys)


def resource_id(ids: Iterable[str]) -> str:
    """A `<fes:Filter>` selecting features by id (`fes:ResourceId`, one per id)."""
    root = etree.Element(_F + "Filter", nsmap={"fes": FES})
    for rid in ids:
        etree.SubElement(root, _F + "ResourceId", rid=str(rid))
    return etree.tostring(root, encoding="unicode")


__all__ = [
    "FES",
    "FilterCapabilities",
    "parse_filter_capabilities",
    "render_sortby",
    "resource_id",
    "sortable",
]
