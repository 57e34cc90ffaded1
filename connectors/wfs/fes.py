"""FES 2.0 pushdown: which parts of a filter a WFS evaluates exactly as the gateway, as XML.

`parse_filter_capabilities` reads what the server declares; `pushable(caps, types)` is the
planner's test (a conjunct is pushed only when `render_filter` can write it AND the server
answers it exactly like gateway/query/evaluate.py); `render_filter` writes the
`<fes:Filter>` with lxml (values are text nodes, never spliced into markup).

What is pushed, each only where the server declares the operator:
- Comparisons of a property with a literal of its own kind. Numbers: integers up to 2^53
  (servers such as MapServer go through a double), any finite float. Strings: `=` and `<>`
  only, since ordering follows the database's collation, not code points (`ordered_strings`
  when the operator knows it is code points). Dates (a `date` field and a DATE literal) only
  with `dates=True`: MapServer 8 over PostGIS widens a date literal to its whole day (so
  `<` goes as `<=` the day before and `<>` as Not(`=`), which it answers exactly), but over
  OGR (a GeoPackage) it compares `CAST(col AS REAL)` with text and answers nonsense; a WFS
  does not say what is behind it. Booleans and instants are not pushed (MapServer truncates
  instants to the second and reads a zone suffix as local time).
- LIKE on a string property with a literal pattern: wildCard `%`, singleChar `_`,
  escapeChar `!`, matchCase true (CQL2 LIKE is case-sensitive).
- BETWEEN, IN (as an Or of equalities; no null items: under a NOT they differ), IS NULL
  (only where `PropertyIsNull` is declared), And/Or/Not.
- Spatial (Intersects, Within, Contains, Disjoint, BBOX; DWithin in metres) between the
  geometry and a literal, only when the server does not have to reproject the literal:
  `storage_crs` is CRS84 or EPSG:4326. Elsewhere a straight CRS84 edge and its reprojected
  vertices part by up to a metre for city-sized polygons, so points near an edge would be
  answered otherwise: a caller who accepts that passes `spatial_tolerance` (metres) and
  the literal is densified (see gmlwrite.py). DWithin needs that too, and a distance short
  enough: the server measures in the plane of a metric CRS, the gateway along the
  ellipsoid, and the two part by the projection's scale error times the distance.
String literals that MapServer 8 reads as something else are never pushed (verified against
it, see tests/connectors/test_wfs_differential.py): a backslash (it breaks the expression), `[`
(`[name]` is replaced by the attribute's value), `_MAPSERVER_NULL_`, control characters,
and text that reads as a number (compared numerically when the layer has no type for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import shapely
from lxml import etree
from pyproj import Proj

from connectors.base import FieldType
from connectors.crs import parse_crs
from connectors.filters import GEOMETRY, Call, Expr, Literal, Property, Unsupported, like_tokens
from connectors.wfs.fescaps import (
    FES,
    FilterCapabilities,
    parse_filter_capabilities,
    render_sortby,
    resource_id,
    sortable,
)
from connectors.wfs.gmlwrite import GML, OPERANDS, GmlWriter, is_lonlat, srs

_F = f"{{{FES}}}"
MAX_EXACT_INT = 2**53
MAX_LENGTH = 3000  # characters of one pushed conjunct: percent-encoded in a GET URL it
# doubles, and servers cut request lines at 8 KiB (lighttpd before MapServer: 431)
NUMERIC = re.compile(r"\s*[+-]?(\d|\.\d|inf|nan)", re.IGNORECASE)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\\[]|_MAPSERVER_NULL_")
_COMPARISONS = {
    "=": "PropertyIsEqualTo",
    "<>": "PropertyIsNotEqualTo",
    "<": "PropertyIsLessThan",
    "<=": "PropertyIsLessThanOrEqualTo",
    ">": "PropertyIsGreaterThan",
    ">=": "PropertyIsGreaterThanOrEqualTo",
}
_SWAP = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SPATIAL = {
    "s_intersects": "Intersects",
    "s_within": "Within",
    "s_contains": "Contains",
    "s_disjoint": "Disjoint",
    "s_dwithin": "DWithin",
}
_LIKE_ATTRIBUTES = {"wildCard": "%", "singleChar": "_", "escapeChar": "!", "matchCase": "true"}
_CONVERSE = {"s_within": "s_contains", "s_contains": "s_within"}
_KINDS: dict[str, str] = {"integer": "number", "number": "number", "string": "string"}
_KINDS["date"] = "date"


@dataclass(frozen=True)
class _Options:
    types: Mapping[str, str]
    storage_crs: str | None
    spatial_tolerance: float | None
    ordered_strings: bool
    dates: bool = False
    strict: bool = True  # pushable's test; render_filter trusts what it was given


class _Renderer:
    """Builds the FES tree of an expression or raises Unsupported (see the module text)."""

    def __init__(
        self, caps: FilterCapabilities, options: _Options, geometry_name: str, crs: str
    ) -> None:
        self.caps, self.options = caps, options
        self.geometry_name, self.crs = geometry_name, crs
        self.gml = GmlWriter(crs, options.spatial_tolerance or 0.001)

    def node(self, expr: Expr) -> etree._Element:
        if not isinstance(expr, Call):
            raise Unsupported("literal", "FES has no constant conditions")
        op, args = expr.op, expr.args
        if op in ("and", "or", "not"):
            return self._logical(op, args)
        if op in _COMPARISONS:
            return self._comparison(op, *args)
        if op == "between":
            return self._between(*args)
        if op == "in":
            return self._in(args[0], args[1:])
        if op == "like":
            return self._like(*args)
        if op == "isNull":
            return self._is_null(args[0])
        if op in _SPATIAL:
            return self._spatial(op, args)
        raise Unsupported(op)

    # --- logic and comparisons ----------------------------------------------------------

    def _logical(self, op: str, args: tuple[Expr, ...]) -> etree._Element:
        if not self.caps.logical:
            raise Unsupported(op, "no logical operators declared")
        elem = etree.Element(_F + op.capitalize())
        for arg in args:
            elem.append(self.node(arg))
        return elem

    def _declared(self, name: str) -> None:
        if name not in self.caps.comparison:
            raise Unsupported(name, "not declared")

    def _operands(self, a: Expr, b: Expr, op: str) -> tuple[str, Any, str]:
        """(property, literal value, op as `property op literal`) of a comparison."""
        if isinstance(a, Literal) and isinstance(b, Property):
            a, b, op = b, a, _SWAP[op]
        if not (isinstance(a, Property) and isinstance(b, Literal)) or a.name == GEOMETRY:
            raise Unsupported(op, "a property and a literal")
        return a.name, b.value, op

    def _kind(self, name: str, value: Any, op: str) -> str:
        """The kind both sides share, or Unsupported."""
        kind = _KINDS.get(self.options.types.get(name, ""))
        if kind is None and not self.options.strict:
            kind = _value_kind(value)
        if kind == "number" and _number(value):
            if isinstance(value, int) and abs(value) > MAX_EXACT_INT:
                raise Unsupported(op, "an integer no double holds")
            return kind
        if kind == "string" and isinstance(value, str):
            if op not in ("=", "<>", "like") and not self.options.ordered_strings:
                raise Unsupported(op, "string order is the server's collation")
            _safe_text(value, op)
            return kind
        if (
            kind == "date"
            and type(value) is date
            and (self.options.dates or not self.options.strict)
        ):
            return kind
        raise Unsupported(op, f"'{name}' against a {type(value).__name__}")

    def _binary(self, name: str, prop: str, text: str) -> etree._Element:
        self._declared(name)
        elem = etree.Element(_F + name)
        if name == "PropertyIsEqualTo" or name == "PropertyIsNotEqualTo":
            elem.set("matchCase", "true")
        etree.SubElement(elem, _F + "ValueReference").text = prop
        etree.SubElement(elem, _F + "Literal").text = text
        return elem

    def _comparison(self, op: str, a: Expr, b: Expr) -> etree._Element:
        prop, value, op = self._operands(a, b, op)
        kind = self._kind(prop, value, op)
        if kind == "date" and op == "<":
            if value == date.min:
                raise Unsupported(op, "before the first day")
            return self._binary(_COMPARISONS["<="], prop, _text(value - timedelta(days=1)))
        if kind == "date" and op == "<>":
            return self._logical("not", (Call("=", (Property(prop), Literal(value))),))
        return self._binary(_COMPARISONS[op], prop, _text(value))

    def _between(self, value: Expr, low: Expr, high: Expr) -> etree._Element:
        self._declared("PropertyIsBetween")
        if not (isinstance(low, Literal) and isinstance(high, Literal)):
            raise Unsupported("between", "literal bounds")
        prop, lower, _ = self._operands(value, low, ">=")
        _, upper, _ = self._operands(value, high, "<=")
        for bound, op in ((lower, ">="), (upper, "<=")):
            self._kind(prop, bound, op)
        elem = etree.Element(_F + "PropertyIsBetween")
        etree.SubElement(elem, _F + "ValueReference").text = prop
        for tag, bound in (("LowerBoundary", lower), ("UpperBoundary", upper)):
            etree.SubElement(etree.SubElement(elem, _F + tag), _F + "Literal").text = _text(bound)
        return elem

    def _in(self, needle: Expr, items: tuple[Expr, ...]) -> etree._Element:
        if any(isinstance(i, Literal) and i.value is None for i in items):
            raise Unsupported("in", "a null item")
        terms = tuple(Call("=", (needle, item)) for item in items)
        return self.node(terms[0]) if len(terms) == 1 else self._logical("or", terms)

    def _like(self, value: Expr, pattern: Expr) -> etree._Element:
        self._declared("PropertyIsLike")
        if not (isinstance(value, Property) and isinstance(pattern, Literal)):
            raise Unsupported("like", "a property and a literal pattern")
        if not isinstance(pattern.value, str) or not pattern.value:
            raise Unsupported("like", "a non-empty string pattern")  # MapServer refuses ''
        tokens = like_tokens(pattern.value)
        self._kind(value.name, "".join(c for k, c in tokens if k == "char"), "like")
        special = {"any": "%", "one": "_"}
        text = "".join(special.get(k) or ("!" + c if c in "%_!" else c) for k, c in tokens)
        elem = etree.Element(_F + "PropertyIsLike")
        for key, setting in _LIKE_ATTRIBUTES.items():
            elem.set(key, setting)
        etree.SubElement(elem, _F + "ValueReference").text = value.name
        etree.SubElement(elem, _F + "Literal").text = text
        return elem

    def _is_null(self, arg: Expr) -> etree._Element:
        self._declared("PropertyIsNull")
        if not isinstance(arg, Property) or arg.name == GEOMETRY:
            raise Unsupported("isNull", "a property")
        if arg.name not in self.options.types:
            raise Unsupported("isNull", f"unknown property '{arg.name}'")
        elem = etree.Element(_F + "PropertyIsNull")
        etree.SubElement(elem, _F + "ValueReference").text = arg.name
        return elem

    # --- spatial ------------------------------------------------------------------------

    def _spatial(self, op: str, args: tuple[Expr, ...]) -> etree._Element:
        a, b = args[0], args[1]
        if isinstance(a, Literal) and b == Property(GEOMETRY):
            a, b, op = b, a, _CONVERSE.get(op, op)
        if a != Property(GEOMETRY) or not isinstance(b, Literal):
            raise Unsupported(op, "the geometry and a literal")
        geom = b.value
        if not isinstance(geom, shapely.Geometry) or geom.is_empty:
            raise Unsupported(op, "a geometry literal")
        self._exact_space(op)
        name = _SPATIAL[op]
        if name == "Intersects" and name not in self.caps.spatial and self._boxed(geom):
            return self._bbox(geom)  # a box is all a minimal spatial filter takes
        if name not in self.caps.spatial:
            raise Unsupported(op, "not declared")
        if not set(OPERANDS.get(geom.geom_type, ())) & self.caps.geometry_operands:
            raise Unsupported(op, f"no {geom.geom_type} operand declared")
        elem = etree.Element(_F + name)
        etree.SubElement(elem, _F + "ValueReference").text = self.geometry_name
        elem.append(self.gml.geometry(geom))
        if op == "s_dwithin":
            metres = args[2]
            if not (isinstance(metres, Literal) and _number(metres.value) and metres.value >= 0):
                raise Unsupported(op, "a distance literal")
            self._planar_distance(geom, metres.value)
            distance = etree.SubElement(elem, _F + "Distance", uom="m")
            distance.text = _text(metres.value)
        return elem

    def _planar_distance(self, geom: shapely.Geometry, metres: float) -> None:
        """The server measures in the plane of the CRS, where a metre is `k` metres (the
        scale factor: 0.9996 on a UTM zone's central meridian): its answer and the gateway's
        geodesic one part by |k - 1| * distance, which must stay within the tolerance."""
        if not self.options.strict:
            return
        tolerance = self.options.spatial_tolerance or 0.0
        if scale_error(self.crs, geom) * metres > tolerance:
            raise Unsupported("s_dwithin", "the plane's scale error exceeds the tolerance")

    def _exact_space(self, op: str) -> None:
        storage = self.options.storage_crs
        if not self.options.strict:
            return
        if storage is None:
            raise Unsupported(op, "the server's storage CRS is unknown")
        if op == "s_dwithin":
            if self.options.spatial_tolerance is None or srs(self.crs)[2]:
                raise Unsupported(op, "distances need a metric CRS and a tolerance")
            return
        if is_lonlat(storage) and is_lonlat(self.crs):
            return
        if self.options.spatial_tolerance is None:
            raise Unsupported(op, "the server would reproject the literal")

    def _boxed(self, geom: shapely.Geometry) -> bool:
        return "BBOX" in self.caps.spatial and is_lonlat(self.crs) and _is_box(geom)

    def _bbox(self, geom: shapely.Geometry) -> etree._Element:
        elem = etree.Element(_F + "BBOX")
        etree.SubElement(elem, _F + "ValueReference").text = self.geometry_name
        elem.append(self.gml.envelope(tuple(geom.bounds)))
        return elem


def scale_error(crs: str, geom: shapely.Geometry) -> float:
    """|k - 1| of a projected CRS around a CRS84 geometry (its bounds' corners, the worst)."""
    proj = Proj(parse_crs(crs))
    minx, miny, maxx, maxy = geom.bounds
    factors = proj.get_factors([minx, minx, maxx, maxx], [miny, maxy, miny, maxy])
    scales = [*factors.meridional_scale, *factors.parallel_scale]
    return max(abs(k - 1.0) for k in scales) if all(k == k for k in scales) else float("inf")


def _value_kind(value: Any) -> str | None:
    if _number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "date" if type(value) is date else None


def _number(value: Any) -> bool:
    return type(value) in (int, float) and value == value and abs(value) != float("inf")


def _safe_text(value: str, op: str) -> None:
    if _UNSAFE.search(value):
        raise Unsupported(op, "a character MapServer reads as syntax")
    if op != "like" and NUMERIC.match(value):
        raise Unsupported(op, "text that reads as a number")


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _is_box(geom: shapely.Geometry) -> bool:
    return geom.geom_type == "Polygon" and geom.equals_exact(shapely.box(*geom.bounds), 0)


def render_filter(
    expr: Expr,
    *,
    geometry_name: str,
    crs: str,
    caps: FilterCapabilities,
    types: Mapping[str, FieldType] | None = None,
    storage_crs: str | None = None,
    spatial_tolerance: float | None = None,
    ordered_strings: bool = False,
    dates: bool = False,
) -> str:
    """`expr` (source names, as `pushable` accepted it) as a `<fes:Filter>` document, with
    geometries in `crs`. Give the same options as to `pushable` (`types` decides how a
    literal is written; without it the literal's own type does). Raises Unsupported for
    what FES cannot say at all."""
    options = _Options(
        dict(types or {}), storage_crs, spatial_tolerance, ordered_strings, dates, strict=False
    )
    root = etree.Element(_F + "Filter", nsmap={"fes": FES, "gml": GML})
    root.append(_Renderer(caps, options, geometry_name, crs).node(expr))
    return etree.tostring(root, encoding="unicode")


def pushable(
    caps: FilterCapabilities,
    types: Mapping[str, FieldType],
    *,
    storage_crs: str | None = None,
    spatial_tolerance: float | None = None,
    ordered_strings: bool = False,
    dates: bool = False,
    max_length: int = MAX_LENGTH,
) -> Callable[[Expr], bool]:
    """The planner's test: would the server answer this subtree exactly as the gateway?

    `storage_crs`: the CRS the server keeps the feature type in, which is also the CRS
    geometry literals are rendered in (None: no spatial pushdown). The other options say
    what the operator knows of the server (see the module text); all default to caution."""
    crs = storage_crs or "EPSG:4326"
    options = _Options(dict(types), storage_crs, spatial_tolerance, ordered_strings, dates)

    def test(expr: Expr) -> bool:
        root = etree.Element(_F + "Filter", nsmap={"fes": FES, "gml": GML})
        try:
            root.append(_Renderer(caps, options, "geometry", crs).node(expr))
        except (Unsupported, ValueError):
            return False
        return len(etree.tostring(root)) <= max_length

    return test


__all__ = [
    "FES",
    "FilterCapabilities",
    "parse_filter_capabilities",
    "pushable",
    "render_filter",
    "render_sortby",
    "resource_id",
    "sortable",
]
