"""SensorThings API 1.1 (OGC 18-088): requirement identifiers and the entity model the
checks use (mandatory properties and relations per entity type, as OGC's ETS for 1.0)."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.model import Requirement, RequirementClass

STA = "http://www.opengis.net/spec/iot_sensing/1.1"
DOC = "https://docs.ogc.org/is/18-088/18-088.html"

CORE = RequirementClass("SensorThings 1.1: Sensing Core", f"{STA}/req/datamodel", DOC)
REQUEST = RequirementClass(
    "SensorThings 1.1: Request data (filtering extension)", f"{STA}/req/request-data", DOC
)
CUD = RequirementClass(
    "SensorThings 1.1: Create, update, delete", f"{STA}/req/create-update-delete", DOC
)
MQTT_RECEIVE = RequirementClass(
    "SensorThings 1.1: Receive updates via MQTT",
    f"{STA}/req/receive-updates-via-mqtt/receive-updates",
    DOC,
)
MQTT_CREATE = RequirementClass(
    "SensorThings 1.1: Create observations via MQTT",
    f"{STA}/req/create-observations-via-mqtt/observations-creation",
    DOC,
)


def req(cls: RequirementClass, path: str, title: str) -> Requirement:
    return Requirement(f"{STA}/req/{path}", title, cls, DOC)


@dataclass(frozen=True)
class EntityType:
    name: str  # singular, as in the requirement ids' spirit: "Thing"
    set: str  # the entity set: "Things"
    slug: str  # as in requirement ids: "thing", "historical-location"
    properties: tuple[str, ...]
    relations: tuple[str, ...]  # navigation properties

    @staticmethod
    def plural(relation: str) -> bool:
        """Things, Datastreams... lead to sets; Thing, Sensor... to one entity."""
        return relation.endswith("s")


TYPES = (
    EntityType(
        "Thing",
        "Things",
        "thing",
        ("name", "description"),
        ("Datastreams", "HistoricalLocations", "Locations"),
    ),
    EntityType(
        "Location",
        "Locations",
        "location",
        ("name", "description", "encodingType", "location"),
        ("HistoricalLocations", "Things"),
    ),
    EntityType(
        "HistoricalLocation",
        "HistoricalLocations",
        "historical-location",
        ("time",),
        ("Thing", "Locations"),
    ),
    EntityType(
        "Datastream",
        "Datastreams",
        "datastream",
        ("name", "description", "unitOfMeasurement", "observationType"),
        ("Thing", "Sensor", "ObservedProperty", "Observations"),
    ),
    EntityType(
        "Sensor",
        "Sensors",
        "sensor",
        ("name", "description", "encodingType", "metadata"),
        ("Datastreams",),
    ),
    EntityType(
        "ObservedProperty",
        "ObservedProperties",
        "observed-property",
        ("name", "definition", "description"),
        ("Datastreams",),
    ),
    EntityType(
        "Observation",
        "Observations",
        "observation",
        ("phenomenonTime", "result", "resultTime"),
        ("Datastream", "FeatureOfInterest"),
    ),
    EntityType(
        "FeatureOfInterest",
        "FeaturesOfInterest",
        "feature-of-interest",
        ("name", "description", "encodingType", "feature"),
        ("Observations",),
    ),
)
BY_SET = {t.set: t for t in TYPES}
RELATION_TARGET = {
    "Thing": "Things",
    "Things": "Things",
    "Locations": "Locations",
    "HistoricalLocations": "HistoricalLocations",
    "Datastream": "Datastreams",
    "Datastreams": "Datastreams",
    "Sensor": "Sensors",
    "ObservedProperty": "ObservedProperties",
    "Observations": "Observations",
    "FeatureOfInterest": "FeaturesOfInterest",
}
EXTRA_SETS = ("MultiDatastreams", "Actuators", "Tasks", "TaskingCapabilities")
OBJECT_PROPERTIES = ("location", "feature", "unitOfMeasurement")
