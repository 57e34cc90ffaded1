"""The data of the fake SensorThings server: the relations of the entity model and the
seeded entities (2 Things, 2 Locations, 2 HistoricalLocations, 2 Sensors,
3 ObservedProperties, 4 Datastreams, 24 Observations, 2 FeaturesOfInterest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

STA = "http://www.opengis.net/spec/iot_sensing/1.1/req"
# relation name -> (target set, foreign key on this entity or None, back key on target)
RELATIONS: dict[str, dict[str, tuple[str, str | None, str | None]]] = {
    "Things": {
        "Datastreams": ("Datastreams", None, "thing"),
        "Locations": ("Locations", "locations", None),
        "HistoricalLocations": ("HistoricalLocations", None, "thing"),
    },
    "Locations": {
        "Things": ("Things", None, "locations"),
        "HistoricalLocations": ("HistoricalLocations", None, "locations"),
    },
    "HistoricalLocations": {
        "Thing": ("Things", "thing", None),
        "Locations": ("Locations", "locations", None),
    },
    "Datastreams": {
        "Thing": ("Things", "thing", None),
        "Sensor": ("Sensors", "sensor", None),
        "ObservedProperty": ("ObservedProperties", "observed_property", None),
        "Observations": ("Observations", None, "datastream"),
    },
    "Sensors": {"Datastreams": ("Datastreams", None, "sensor")},
    "ObservedProperties": {"Datastreams": ("Datastreams", None, "observed_property")},
    "Observations": {
        "Datastream": ("Datastreams", "datastream", None),
        "FeatureOfInterest": ("FeaturesOfInterest", "foi", None),
    },
    "FeaturesOfInterest": {"Observations": ("Observations", None, "foi")},
}
KEYS = {"thing", "locations", "sensor", "observed_property", "datastream", "foi"}
UOM = {
    "name": "degree Celsius",
    "symbol": "°C",
    "definition": "http://unitsofmeasure.org/ucum.html",
}
POINT = "application/geo+json"


def seed() -> dict[str, dict[int, dict[str, Any]]]:
    db: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in RELATIONS}
    start = datetime(2024, 5, 1, tzinfo=UTC)
    for i in (1, 2):
        geo = {"type": "Point", "coordinates": [9.9 + i / 10, 53.5]}
        db["Things"][i] = {
            "name": ("Alsterufer", "Billwerder")[i - 1],
            "description": "weather station",
            "properties": {"district": "Nord" if i == 1 else "Süd"},
            "locations": [i],
        }
        db["Locations"][i] = {
            "name": f"Site {i}",
            "description": "roof",
            "encodingType": POINT,
            "location": geo,
        }
        db["HistoricalLocations"][i] = {
            "time": "2024-01-01T00:00:00Z",
            "thing": i,
            "locations": [i],
        }
        db["Sensors"][i] = {
            "name": f"Sensor {i}",
            "description": "thermometer",
            "encodingType": "application/pdf",
            "metadata": "datasheet",
        }
        db["FeaturesOfInterest"][i] = {
            "name": f"Site {i}",
            "description": "roof",
            "encodingType": POINT,
            "feature": geo,
        }
    for i, name in enumerate(("air temperature", "humidity", "wind speed"), start=1):
        db["ObservedProperties"][i] = {
            "name": name,
            "definition": f"http://example.org/{i}",
            "description": name,
        }
    for i in range(1, 5):
        db["Datastreams"][i] = {
            "name": f"Datastream {i}",
            "description": "series",
            "unitOfMeasurement": UOM,
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "thing": 1 + (i - 1) // 2,
            "sensor": 1 + (i - 1) // 2,
            "observed_property": 1 + (i - 1) % 3,
        }
    _observations(db, start)
    return db


def _observations(db: dict[str, dict[int, dict[str, Any]]], start: datetime) -> None:
    for i in range(1, 25):
        ds = 1 + (i - 1) // 6
        when = (start + timedelta(hours=i)).isoformat().replace("+00:00", "Z")
        db["Observations"][i] = {
            "phenomenonTime": when,
            "result": (i * 7) % 25 + 0.5,
            "resultTime": when,
            "datastream": ds,
            "foi": db["Datastreams"][ds]["thing"],
        }
