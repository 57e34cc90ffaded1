"""Identifiers of OGC API – Features (Parts 1, 2, 3, 4) and CQL2: conformance classes,
requirements and where the standard says them.

Requirement ids are the standards' own (`/req/core/fc-limit-response` is the form OGC's test
suite and the abstract test use; the 1.0 text numbers it `/req/core/fc-limit-response-1`).
"""

from __future__ import annotations

from conformance.model import Level, Requirement, RequirementClass

F1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0"
F2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0"
F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0"
F4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0"
CQL2 = "http://www.opengis.net/spec/cql2/1.0"
DOC1 = "https://docs.ogc.org/is/17-069r4/17-069r4.html"
DOC2 = "https://docs.ogc.org/is/18-058r1/18-058r1.html"
DOC3 = "https://docs.ogc.org/is/19-079r2/19-079r2.html"
# Part 4 is a draft (1.0.0-draft.2, OGC 20-002r1); its requirement ids are those of the
# draft's sources (opengeospatial/ogcapi-features, extensions/transactions/.../requirements).
DOC4 = "https://docs.ogc.org/DRAFTS/20-002r1.html"
DOC_CQL2 = "https://docs.ogc.org/is/21-065r2/21-065r2.html"

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84H = "http://www.opengis.net/def/crs/OGC/0/CRS84h"
UNSUPPORTED_CRS = "http://www.opengis.net/def/crs/0/unsupported"

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"

REL_QUERYABLES = ("http://www.opengis.net/def/rel/ogc/1.0/queryables", "[ogc-rel:queryables]")
REL_SORTABLES = ("http://www.opengis.net/def/rel/ogc/1.0/sortables", "[ogc-rel:sortables]")


def _class(name: str, uri: str, doc: str, anchor: str) -> RequirementClass:
    return RequirementClass(name, uri, f"{doc}#{anchor}")


CORE = _class("Features Part 1: Core", f"{F1}/conf/core", DOC1, "rc_core")
GEOJSON_CLASS = _class("Features Part 1: GeoJSON", f"{F1}/conf/geojson", DOC1, "rc_geojson")
HTML_CLASS = _class("Features Part 1: HTML", f"{F1}/conf/html", DOC1, "rc_html")
OAS30 = _class("Features Part 1: OpenAPI 3.0", f"{F1}/conf/oas30", DOC1, "rc_oas30")
CRS = _class("Features Part 2: CRS by reference", f"{F2}/conf/crs", DOC2, "rc_crs")
QUERYABLES = _class("Features Part 3: Queryables", f"{F3}/conf/queryables", DOC3, "rc_queryables")
QUERYABLE_PARAMS = _class(
    "Features Part 3: Queryables as query parameters",
    f"{F3}/conf/queryables-query-parameters",
    DOC3,
    "rc_queryables-query-parameters",
)
FILTER = _class("Features Part 3: Filter", f"{F3}/conf/filter", DOC3, "rc_filter")
FEATURES_FILTER = _class(
    "Features Part 3: Features Filter", f"{F3}/conf/features-filter", DOC3, "rc_features-filter"
)

CREATE_REPLACE_DELETE = _class(
    "Features Part 4: Create/Replace/Delete",
    f"{F4}/conf/create-replace-delete",
    DOC4,
    "rc_create-replace-delete",
)
UPDATE = _class("Features Part 4: Update", f"{F4}/conf/update", DOC4, "rc_update")
OPTIMISTIC_LOCKING_ETAGS = _class(
    "Features Part 4: Optimistic locking using ETags",
    f"{F4}/conf/optimistic-locking-etags",
    DOC4,
    "rc_optimistic-locking-etags",
)
# The draft's table of class URIs names this one with /req/ instead of /conf/: accept both.
OPTIMISTIC_LOCKING_ETAGS_REQ = f"{F4}/req/optimistic-locking-etags"


def cql2_class(name: str, slug: str) -> RequirementClass:
    return _class(f"CQL2: {name}", f"{CQL2}/conf/{slug}", DOC_CQL2, f"rc_{slug}")


BASIC_CQL2 = cql2_class("Basic CQL2", "basic-cql2")
ADVANCED_COMPARISON = cql2_class("Advanced Comparison Operators", "advanced-comparison-operators")
CASE_INSENSITIVE = cql2_class("Case-insensitive Comparison", "case-insensitive-comparison")
ACCENT_INSENSITIVE = cql2_class("Accent-insensitive Comparison", "accent-insensitive-comparison")
BASIC_SPATIAL = cql2_class("Basic Spatial Functions", "basic-spatial-functions")
BASIC_SPATIAL_PLUS = cql2_class(
    "Basic Spatial Functions with additional Spatial Literals", "basic-spatial-functions-plus"
)
SPATIAL_FUNCTIONS = cql2_class("Spatial Functions", "spatial-functions")
TEMPORAL_FUNCTIONS = cql2_class("Temporal Functions", "temporal-functions")
ARRAY_FUNCTIONS = cql2_class("Array Functions", "array-functions")
PROPERTY_PROPERTY = cql2_class("Property-Property Comparisons", "property-property")
ARITHMETIC = cql2_class("Arithmetic Expressions", "arithmetic")
CQL2_TEXT = cql2_class("CQL2 Text encoding", "cql2-text")
CQL2_JSON = cql2_class("CQL2 JSON encoding", "cql2-json")


def _req(
    base: str, doc: str, cls: RequirementClass, path: str, title: str, level: Level
) -> Requirement:
    kind = {Level.REQUIREMENT: "req", Level.RECOMMENDATION: "rec", Level.PERMISSION: "per"}[level]
    anchor = f"{kind}_{path.replace('/', '_')}"
    return Requirement(f"{base}/{kind}/{path}", title, cls, f"{doc}#{anchor}", level)


def core(path: str, title: str, level: Level = Level.REQUIREMENT) -> Requirement:
    return _req(F1, DOC1, CORE, f"core/{path}", title, level)


def part1(cls: RequirementClass, path: str, title: str) -> Requirement:
    return _req(F1, DOC1, cls, path, title, Level.REQUIREMENT)


def crs(path: str, title: str) -> Requirement:
    return _req(F2, DOC2, CRS, f"crs/{path}", title, Level.REQUIREMENT)


def part3(cls: RequirementClass, path: str, title: str) -> Requirement:
    return _req(F3, DOC3, cls, path, title, Level.REQUIREMENT)


def part4(
    cls: RequirementClass, path: str, title: str, level: Level = Level.REQUIREMENT
) -> Requirement:
    return _req(F4, DOC4, cls, path, title, level)


def cql2(cls: RequirementClass, path: str, title: str) -> Requirement:
    return _req(CQL2, DOC_CQL2, cls, path, title, Level.REQUIREMENT)


def declared_name(uri: str) -> str:
    """A short readable name for a conformance class URI."""
    return uri.rsplit("/spec/", 1)[-1]
