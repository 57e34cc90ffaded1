"""The store's tables, generated from the entity model, and their indexes.

Foreign keys cascade as the standard's delete rules require: deleting a Thing removes its
Datastreams (and their Observations) and HistoricalLocations; deleting a Sensor or an
ObservedProperty removes its Datastreams; deleting a FeatureOfInterest its Observations.
Locations, Sensors, ObservedProperties and FeaturesOfInterest survive a Thing's deletion.
"""

from __future__ import annotations

from gateway.sensorthings.model import BY_NAME, ENTITY_TYPES, EntityType, Prop
from gateway.sensorthings.store.dialect import Dialect

SCHEMA_VERSION = "1"
INDEXES = (
    ("observations", ("datastream_id", "phenomenon_time_start", "id")),
    ("observations", ("multi_datastream_id", "phenomenon_time_start", "id")),
    ("observations", ("feature_of_interest_id",)),
    ("observations", ("phenomenon_time_start", "id")),
    ("datastreams", ("thing_id",)),
    ("datastreams", ("sensor_id",)),
    ("datastreams", ("observed_property_id",)),
    ("multi_datastreams", ("thing_id",)),
    ("multi_datastreams", ("sensor_id",)),
    ("historical_locations", ("thing_id",)),
    ("thing_locations", ("location_id",)),
    ("location_historical_locations", ("historical_location_id",)),
    ("multi_datastream_observed_properties", ("observed_property_id",)),
    ("features_of_interest", ("generated_from_location_id",)),
)
LINKS = (
    ("thing_locations", ("thing_id", "things"), ("location_id", "locations"), False),
    (
        "location_historical_locations",
        ("location_id", "locations"),
        ("historical_location_id", "historical_locations"),
        False,
    ),
    (
        "multi_datastream_observed_properties",
        ("multi_datastream_id", "multi_datastreams"),
        ("observed_property_id", "observed_properties"),
        True,
    ),
)


def _column_types(dialect: Dialect, prop: Prop) -> list[str]:
    if prop.kind in ("json", "geo"):
        return [dialect.json_type]
    if prop.kind == "text":
        return ["TEXT"]
    if prop.kind in ("time", "interval"):
        return ["BIGINT"] * len(prop.columns)
    return [dialect.json_type, dialect.real, "TEXT"]  # result


def _table(dialect: Dialect, etype: EntityType) -> str:
    columns = [dialect.id_column]
    for prop in etype.props:
        for column, sql_type in zip(prop.columns, _column_types(dialect, prop), strict=True):
            null = " NOT NULL" if prop.not_null else ""
            columns.append(f"{column} {sql_type}{null}")
    for rel in etype.rels:
        if rel.fk_here and rel.fk:
            parent = BY_NAME[rel.target].table
            columns.append(f"{rel.fk} BIGINT REFERENCES {parent}(id) ON DELETE CASCADE")
    for column in etype.hidden:
        columns.append(f"{column} BIGINT REFERENCES locations(id) ON DELETE SET NULL")
    body = ",\n  ".join(columns)
    return f"CREATE TABLE IF NOT EXISTS {etype.table} (\n  {body}\n)"


def _link(name: str, a: tuple[str, str], b: tuple[str, str], ranked: bool) -> str:
    rank = ",\n  rank INTEGER NOT NULL DEFAULT 0" if ranked else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {name} (\n"
        f"  {a[0]} BIGINT NOT NULL REFERENCES {a[1]}(id) ON DELETE CASCADE,\n"
        f"  {b[0]} BIGINT NOT NULL REFERENCES {b[1]}(id) ON DELETE CASCADE{rank},\n"
        f"  PRIMARY KEY ({a[0]}, {b[0]})\n)"
    )


# Tables in an order that lets every REFERENCES point to an existing table.
_ORDER = (
    "Thing",
    "Location",
    "HistoricalLocation",
    "Sensor",
    "ObservedProperty",
    "Datastream",
    "MultiDatastream",
    "FeatureOfInterest",
    "Observation",
)


def statements(dialect: Dialect) -> list[str]:
    assert set(_ORDER) == {t.name for t in ENTITY_TYPES}
    out = [_table(dialect, BY_NAME[name]) for name in _ORDER]
    out += [_link(*link) for link in LINKS]
    for table, columns in INDEXES:
        name = f"{table}_{'_'.join(columns)}_idx"
        out.append(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})")
    out.append("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    return out
