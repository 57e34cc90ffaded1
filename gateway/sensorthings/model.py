"""The SensorThings 1.1 entity model: entity types, their properties and relations.

Everything else (SQL schema, OData binding, encoding, deep insert) is driven by these
declarations, so adding a property means adding one line here.

Property kinds and how they are stored:

- `text`     one TEXT column;
- `json`     one JSON column (SQLite text, PostgreSQL jsonb), `properties/a/b` reaches inside;
- `geo`      a JSON column holding GeoJSON (usable by the geo functions);
- `time`     one BIGINT column, microseconds since 1970-01-01 UTC;
- `interval` two BIGINT columns `<name>_start`, `<name>_end` (an instant has start == end);
- `result`   `result_json` (the value as JSON), `result_number`, `result_string` (the value
             as text: strings as-is, numbers and booleans as JSON), so that `result gt '3'`
             compares text and `result gt 3` compares numbers, as OGC's tests expect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

KINDS = ("text", "json", "geo", "time", "interval", "result")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Prop:
    name: str
    kind: str
    required: bool = False  # mandatory on create
    computed: bool = False  # maintained by the server, not writable
    not_null: bool = False  # stored NOT NULL (a sort key without NULLs)
    always: bool = False  # written even when null (besides the mandatory ones)

    @cached_property
    def shown_when_null(self) -> bool:
        """Mandatory properties appear even when null; optional ones only with a value
        (clients such as frost-sta-client reject `"properties": null`)."""
        return self.required or self.always

    @cached_property  # read for every value encoded: worked out once
    def column(self) -> str:
        return snake(self.name)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        if self.kind == "interval":
            return (f"{self.column}_start", f"{self.column}_end")
        if self.kind == "result":
            return ("result_json", "result_number", "result_string")
        return (self.column,)


@dataclass(frozen=True)
class Link:
    """A many-to-many link table: rows (source_col, target_col)."""

    table: str
    source_col: str
    target_col: str


@dataclass(frozen=True)
class Rel:
    name: str
    target: str
    many: bool
    fk: str | None = None  # to-one: column on this table; to-many: column on the target
    link: Link | None = None
    required: bool = False  # to-one that a new entity must have

    @property
    def fk_here(self) -> bool:
        """True when this entity's own table holds the foreign key (a to-one relation)."""
        return not self.many and self.link is None


@dataclass(frozen=True)
class EntityType:
    name: str
    plural: str
    table: str
    props: tuple[Prop, ...]
    rels: tuple[Rel, ...]
    default_order: tuple[str, ...] = ()
    hidden: tuple[str, ...] = field(default=())  # extra columns (not STA properties)

    @cached_property
    def prop(self) -> dict[str, Prop]:
        return {p.name: p for p in self.props}

    @cached_property
    def rel(self) -> dict[str, Rel]:
        return {r.name: r for r in self.rels}

    @cached_property
    def fk_columns(self) -> tuple[str, ...]:
        return tuple(r.fk for r in self.rels if r.fk_here and r.fk)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The columns every read selects, in a fixed order: id, properties, foreign keys."""
        cols = ["id"]
        for p in self.props:
            cols.extend(p.columns)
        return (*cols, *self.fk_columns)

    @cached_property
    def column_index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.columns)}

    @cached_property
    def prop_slots(self) -> tuple[tuple[Prop, int], ...]:
        """Each property with the position of its first column in a row."""
        return tuple((p, self.column_index[p.columns[0]]) for p in self.props)


def _thing() -> EntityType:
    return EntityType(
        "Thing",
        "Things",
        "things",
        (Prop("name", "text", True), Prop("description", "text", True), Prop("properties", "json")),
        (
            Rel("Datastreams", "Datastream", True, fk="thing_id"),
            Rel("MultiDatastreams", "MultiDatastream", True, fk="thing_id"),
            Rel(
                "Locations",
                "Location",
                True,
                link=Link("thing_locations", "thing_id", "location_id"),
            ),
            Rel("HistoricalLocations", "HistoricalLocation", True, fk="thing_id"),
        ),
    )


def _location() -> EntityType:
    return EntityType(
        "Location",
        "Locations",
        "locations",
        (
            Prop("name", "text", True),
            Prop("description", "text", True),
            Prop("encodingType", "text", True),
            Prop("location", "geo", True),
            Prop("properties", "json"),
        ),
        (
            Rel("Things", "Thing", True, link=Link("thing_locations", "location_id", "thing_id")),
            Rel(
                "HistoricalLocations",
                "HistoricalLocation",
                True,
                link=Link("location_historical_locations", "location_id", "historical_location_id"),
            ),
        ),
    )


def _historical_location() -> EntityType:
    return EntityType(
        "HistoricalLocation",
        "HistoricalLocations",
        "historical_locations",
        (Prop("time", "time", True, not_null=True),),
        (
            Rel("Thing", "Thing", False, fk="thing_id", required=True),
            Rel(
                "Locations",
                "Location",
                True,
                link=Link("location_historical_locations", "historical_location_id", "location_id"),
            ),
        ),
    )


def _datastream_props(multi: bool) -> tuple[Prop, ...]:
    unit = (
        Prop("unitOfMeasurements", "json", True)
        if multi
        else Prop("unitOfMeasurement", "json", True)
    )
    extra = (Prop("multiObservationDataTypes", "json", True),) if multi else ()
    return (
        Prop("name", "text", True),
        Prop("description", "text", True),
        unit,
        Prop("observationType", "text", True),
        *extra,
        Prop("observedArea", "geo", computed=True),
        Prop("phenomenonTime", "interval", computed=True),
        Prop("resultTime", "interval", computed=True),
        Prop("properties", "json"),
    )


def _datastream() -> EntityType:
    return EntityType(
        "Datastream",
        "Datastreams",
        "datastreams",
        _datastream_props(multi=False),
        (
            Rel("Thing", "Thing", False, fk="thing_id", required=True),
            Rel("Sensor", "Sensor", False, fk="sensor_id", required=True),
            Rel(
                "ObservedProperty",
                "ObservedProperty",
                False,
                fk="observed_property_id",
                required=True,
            ),
            Rel("Observations", "Observation", True, fk="datastream_id"),
        ),
    )


MDS_LINK = Link(
    "multi_datastream_observed_properties", "multi_datastream_id", "observed_property_id"
)


def _multi_datastream() -> EntityType:
    return EntityType(
        "MultiDatastream",
        "MultiDatastreams",
        "multi_datastreams",
        _datastream_props(multi=True),
        (
            Rel("Thing", "Thing", False, fk="thing_id", required=True),
            Rel("Sensor", "Sensor", False, fk="sensor_id", required=True),
            Rel("ObservedProperties", "ObservedProperty", True, link=MDS_LINK),
            Rel("Observations", "Observation", True, fk="multi_datastream_id"),
        ),
    )


def _sensor() -> EntityType:
    return EntityType(
        "Sensor",
        "Sensors",
        "sensors",
        (
            Prop("name", "text", True),
            Prop("description", "text", True),
            Prop("encodingType", "text", True),
            Prop("metadata", "json", True),
            Prop("properties", "json"),
        ),
        (
            Rel("Datastreams", "Datastream", True, fk="sensor_id"),
            Rel("MultiDatastreams", "MultiDatastream", True, fk="sensor_id"),
        ),
    )


def _observed_property() -> EntityType:
    return EntityType(
        "ObservedProperty",
        "ObservedProperties",
        "observed_properties",
        (
            Prop("name", "text", True),
            Prop("definition", "text", True),
            Prop("description", "text", True),
            Prop("properties", "json"),
        ),
        (
            Rel("Datastreams", "Datastream", True, fk="observed_property_id"),
            Rel(
                "MultiDatastreams",
                "MultiDatastream",
                True,
                link=Link(MDS_LINK.table, MDS_LINK.target_col, MDS_LINK.source_col),
            ),
        ),
    )


def _observation() -> EntityType:
    return EntityType(
        "Observation",
        "Observations",
        "observations",
        (
            Prop("phenomenonTime", "interval", not_null=True, always=True),
            Prop("resultTime", "time", always=True),
            Prop("result", "result", always=True),
            Prop("resultQuality", "json"),
            Prop("validTime", "interval"),
            Prop("parameters", "json"),
        ),
        (
            Rel("Datastream", "Datastream", False, fk="datastream_id"),
            Rel("MultiDatastream", "MultiDatastream", False, fk="multi_datastream_id"),
            Rel("FeatureOfInterest", "FeatureOfInterest", False, fk="feature_of_interest_id"),
        ),
        default_order=("phenomenonTime",),
    )


def _feature_of_interest() -> EntityType:
    return EntityType(
        "FeatureOfInterest",
        "FeaturesOfInterest",
        "features_of_interest",
        (
            Prop("name", "text", True),
            Prop("description", "text", True),
            Prop("encodingType", "text", True),
            Prop("feature", "geo", True),
            Prop("properties", "json"),
        ),
        (Rel("Observations", "Observation", True, fk="feature_of_interest_id"),),
        hidden=("generated_from_location_id",),
    )


ENTITY_TYPES: tuple[EntityType, ...] = (
    _thing(),
    _location(),
    _historical_location(),
    _datastream(),
    _multi_datastream(),
    _sensor(),
    _observed_property(),
    _observation(),
    _feature_of_interest(),
)
BY_NAME = {t.name: t for t in ENTITY_TYPES}
BY_PLURAL = {t.plural: t for t in ENTITY_TYPES}
# The order of the root document (the eight sets of the core, then MultiDatastreams).
ROOT_SETS = (
    "Things",
    "Locations",
    "HistoricalLocations",
    "Datastreams",
    "MultiDatastreams",
    "Sensors",
    "ObservedProperties",
    "Observations",
    "FeaturesOfInterest",
)


def target(rel: Rel) -> EntityType:
    return BY_NAME[rel.target]


def inverse(source: EntityType, rel: Rel) -> Rel | None:
    """The relation on the target that leads back (Thing.Datastreams <-> Datastream.Thing)."""
    for back in target(rel).rels:
        if back.target != source.name:
            continue
        if rel.link and back.link and back.link.table == rel.link.table:
            return back
        if rel.fk and back.fk == rel.fk and back.many != rel.many:
            return back
    return None
