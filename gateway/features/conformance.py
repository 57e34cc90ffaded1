"""The conformance classes this facade implements; /conformance is built from these."""

from __future__ import annotations

PART1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf"

CORE = f"{PART1}/core"
GEOJSON = f"{PART1}/geojson"
HTML = f"{PART1}/html"
OAS30 = f"{PART1}/oas30"

CRS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
PART3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf"
QUERYABLES = f"{PART3}/queryables"
QUERYABLES_QUERY_PARAMETERS = f"{PART3}/queryables-query-parameters"
FILTER = f"{PART3}/filter"
FEATURES_FILTER = f"{PART3}/features-filter"
SORTING = "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting"
PROPERTY_SELECTION = "http://www.opengis.net/spec/ogcapi-features-6/1.0/conf/properties"
SCHEMAS = "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas"

PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf"
# Declared only by an API with a collection that takes writes (gateway/features/write.py).
WRITE_CLASSES: tuple[str, ...] = (
    f"{PART4}/create-replace-delete",
    f"{PART4}/update",
    f"{PART4}/optimistic-locking-etags",
    f"{PART4}/features",
)

CLASSES: tuple[str, ...] = (
    CORE,
    GEOJSON,
    HTML,
    OAS30,
    CRS,
    QUERYABLES,
    QUERYABLES_QUERY_PARAMETERS,
    FILTER,
    FEATURES_FILTER,
    SORTING,
    PROPERTY_SELECTION,
    SCHEMAS,
)


def conforms_to(writes: bool = False) -> list[str]:
    """`writes`: the API has a collection that takes writes (Part 4)."""
    from gateway.features.jsonfg import CLASSES as JSONFG
    from gateway.query.cql2 import CONFORMANCE

    return [*CLASSES, *CONFORMANCE, *JSONFG, *(WRITE_CLASSES if writes else ())]
