"""What each pygeoapi 0.21 provider honours of `query()`, read from its source code.

A provider's `query()` takes every parameter and ignores most: the contract is loose, so the
adapter pushes only what a provider is known to evaluate *exactly as the gateway would*.
Traits are looked up by the provider's exact class (a subclass may override `query()`);
any other provider is asked for `offset`/`limit` only, everything else stays a residual,
and its numberMatched is not trusted (`count: hits` vouches for its `resulttype=hits`).

Per provider (pygeoapi 0.21):
- CSVProvider: reads the whole file per call and slices it, so offset/limit are exact;
  numberMatched in a results answer counts every matching row (absent when none match).
  `bbox` is not pushed: a row lacking a coordinate column passes any box, an empty
  coordinate raises. `properties` compares the raw CSV text (`'12.0' != 12`); `sortby`,
  `datetime_`, `q` and `filterq` are ignored.
- GeoJSONProvider: loads the whole file per call, slices, numberMatched exact. `bbox` is not
  pushed (a feature without geometry passes every box); `properties` compares `str()`
  forms and raises KeyError for a missing property; `sortby`/`filterq` are ignored.
- PostgreSQLProvider (SQLAlchemy): offset/limit in SQL after ORDER BY (the id field unless
  `sortby`), an exact `count()` on every call (numberMatched), `bbox` as ST_Intersects with
  an envelope in the storage SRID (pushed only when that is CRS84/EPSG:4326), `filterq` a
  pygeofilter AST compiled by pygeofilter's SQLAlchemy backend (connectors/pygeoapi/
  filterq.py builds it, for the parts that compare as the gateway does), `sortby` plain
  ORDER BY (PostgreSQL puts nulls first when descending and orders text by the database
  collation, so only NOT NULL non-text columns are sortables, with the id as tie-break).
- MySQLProvider: as PostgreSQL, but its `bbox` is MBRContains (containment of the bounding
  rectangle, not intersection): paging and count only.
- SensorThingsProvider: `$skip`/`$top` against the upstream STA (following nextLinks);
  numberMatched only from `resulttype=hits` (`$count=true`); its `bbox` is an OData
  `st_within` of the location (not intersects), its `sortby` OData `$orderby` without a
  tie-break: neither is pushed.
- Elasticsearch, OGR, TinyDB, MongoDB and the rest: unknown here, offset/limit only.
Tested here (tests/connectors/test_pygeoapi*.py): CSV, GeoJSON, PostgreSQL, SensorThings;
MySQL's traits are read from the code only (no MySQL on the machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CountMode = Literal["results", "hits"] | None
SQL = "pygeoapi.provider.sql"


@dataclass(frozen=True)
class Traits:
    """What the adapter may hand a provider: `count` says where an exact numberMatched
    comes from ('results': every results answer; 'hits': a `resulttype=hits` call)."""

    count: CountMode = None
    bbox: bool = False  # CRS84 box, intersects, features without geometry excluded
    filterq: bool = False  # a pygeofilter AST, compiled to SQL by pygeofilter (filterq.py)
    sortby: bool = False  # ORDER BY on sortables(), the id as last key
    select_properties: bool = False  # reads only the named properties


KNOWN: dict[str, Traits] = {
    "pygeoapi.provider.csv_.CSVProvider": Traits(count="results"),
    "pygeoapi.provider.geojson.GeoJSONProvider": Traits(count="results"),
    f"{SQL}.PostgreSQLProvider": Traits(
        count="results", bbox=True, filterq=True, sortby=True, select_properties=True
    ),
    f"{SQL}.MySQLProvider": Traits(count="results", select_properties=True),
    "pygeoapi.provider.sensorthings.SensorThingsProvider": Traits(count="hits"),
}
UNKNOWN = Traits()


def traits_of(provider: Any) -> Traits:
    cls = type(provider)
    return KNOWN.get(f"{cls.__module__}.{cls.__qualname__}", UNKNOWN)


def is_sql(provider: Any) -> bool:
    """A pygeoapi GenericSQLProvider with its reflected table (for column types)."""
    return type(provider).__module__ == SQL and hasattr(provider, "table_model")


__all__ = ["KNOWN", "UNKNOWN", "CountMode", "Traits", "is_sql", "traits_of"]
