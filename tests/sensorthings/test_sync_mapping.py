"""The declarative NGSI -> SensorThings mapping, from the Smart Data Models' own example
entities (AirQualityObserved, dataModel.Environment `examples/example-normalized.json` and
`example-normalized.jsonld`), and the UN/CEFACT -> UCUM units."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.sensorthings.config import TenantSensorThings
from gateway.sensorthings.sync.config import AttributeSelection
from gateway.sensorthings.sync.ngsimap import definition, from_ld, from_ld_temporal, from_v2
from gateway.sensorthings.sync.units import UCUM_BASE, ucum, unit_of_measurement
from gateway.sensorthings.timefmt import parse_instant

SDM_V2 = {
    "id": "Madrid-AmbientObserved-28079004-2016-03-15T11:00:00",
    "type": "AirQualityObserved",
    "address": {
        "type": "StructuredValue",
        "value": {
            "addressCountry": "ES",
            "addressLocality": "Madrid",
            "streetAddress": "Plaza de España",
        },
    },
    "airQualityIndex": {"type": "Number", "value": 65},
    "airQualityLevel": {"type": "Text", "value": "moderate"},
    "CO": {
        "type": "Number",
        "value": 500,
        "metadata": {"unitCode": {"type": "Text", "value": "GP"}},
    },
    "dateObserved": {"type": "DateTime", "value": "2016-03-15T11:00:00"},
    "location": {
        "type": "geo:json",
        "value": {"type": "Point", "coordinates": [-3.712247222222222, 40.423852777777775]},
    },
    "NO": {
        "type": "Number",
        "value": 45,
        "metadata": {"unitCode": {"type": "Text", "value": "GQ"}},
    },
    "NO2": {
        "type": "Number",
        "value": 69,
        "metadata": {"unitCode": {"type": "Text", "value": "GQ"}},
    },
    "precipitation": {"type": "Number", "value": 0},
    "refPointOfInterest": {"type": "Relationship", "value": "28079004-Pza. de Espanya"},
    "relativeHumidity": {"type": "Number", "value": 0.54},
    "reliability": {"type": "Number", "value": 0.7},
    "source": {"type": "URL", "value": "http://datos.madrid.es"},
    "temperature": {"type": "Number", "value": 12.2},
}
SDM_LD = {
    "id": "urn:ngsi-ld:AirQualityObserved:Madrid-AmbientObserved-28079004-2016-03-15T11:00:00",
    "type": "AirQualityObserved",
    "dateObserved": {
        "type": "Property",
        "value": {"@type": "DateTime", "@value": "2016-03-15T11:00:00Z"},
    },
    "airQualityIndex": {"type": "Property", "value": 65},
    "airQualityLevel": {"type": "Property", "value": "moderate"},
    "CO": {"type": "Property", "value": 500, "unitCode": "GP"},
    "NO2": {
        "type": "Property",
        "value": 69,
        "unitCode": "GQ",
        "observedAt": "2016-03-15T10:30:00Z",
    },
    "location": {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [-3.712247222222222, 40.423852777777775]},
    },
    "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:device-9845A"},
    "temperature": {"type": "Property", "value": 12.2, "unitCode": "CEL"},
    "@context": ["https://smartdatamodels.org/context.jsonld"],
}
ALL = AttributeSelection()
T11 = parse_instant("2016-03-15T11:00:00Z", "t")


def test_a_v2_entity_gives_one_reading_per_numeric_attribute_at_date_observed():
    data = from_v2(SDM_V2, ALL)
    readings = {r.attribute: r for r in data.readings}
    assert set(readings) == {
        "airQualityIndex",
        "CO",
        "NO",
        "NO2",
        "precipitation",
        "relativeHumidity",
        "reliability",
        "temperature",
    }
    assert readings["NO2"].value == 69 and readings["NO2"].unit_code == "GQ"
    assert readings["CO"].unit_code == "GP" and readings["temperature"].unit_code is None
    assert all(r.start == r.end == T11 for r in data.readings)
    assert data.location == {
        "type": "Point",
        "coordinates": [-3.712247222222222, 40.423852777777775],
    }
    assert data.type == "AirQualityObserved" and data.device is None and data.skipped == 0


def test_a_v2_selection_includes_and_excludes_attributes():
    chosen = from_v2(
        SDM_V2, AttributeSelection(include=["NO2", "CO", "reliability"], exclude=["CO"])
    )
    assert [r.attribute for r in chosen.readings] == ["NO2", "reliability"]


def test_v2_geo_point_is_lat_lon_and_broken_numbers_are_skipped_not_fatal():
    entity = {
        "id": "x",
        "type": "AirQualityObserved",
        "position": {"type": "geo:point", "value": "51.92, 4.47"},
        "no2": {"type": "Number", "value": "n/a"},
        "pm10": {"type": "Number", "value": "17.5"},
        "o3": {"type": "Number", "value": {"nested": 1}},
        "flag": {"type": "Boolean", "value": True},
        "dateModified": {"type": "DateTime", "value": "2026-01-01T00:00:00Z"},
    }
    data = from_v2(entity, ALL)
    assert data.location == {"type": "Point", "coordinates": [4.47, 51.92]}
    assert [(r.attribute, r.value) for r in data.readings] == [("pm10", 17.5)]
    assert data.readings[0].start == parse_instant("2026-01-01T00:00:00Z", "t")
    assert data.skipped == 2  # no2 and o3 claim to be numbers


def test_a_v2_value_without_any_time_is_skipped():
    data = from_v2({"id": "x", "type": "T", "no2": {"type": "Number", "value": 3}}, ALL)
    assert data.readings == [] and data.skipped == 1


def test_an_ld_entity_uses_observed_at_then_date_observed_and_its_unit_codes():
    data = from_ld(SDM_LD, ALL)
    readings = {r.attribute: r for r in data.readings}
    assert set(readings) == {"airQualityIndex", "CO", "NO2", "temperature"}
    assert readings["NO2"].start == parse_instant("2016-03-15T10:30:00Z", "t")
    assert readings["CO"].start == T11 and readings["CO"].unit_code == "GP"
    assert readings["temperature"].unit_code == "CEL"
    assert data.device == "urn:ngsi-ld:Device:device-9845A"
    assert data.location is not None and data.location["type"] == "Point"


def test_ld_expanded_names_keep_their_uri_as_definition_and_a_short_name():
    entity = {
        "id": "urn:a",
        "type": "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved",
        "https://smartdatamodels.org/dataModel.Environment/no2": {
            "type": "Property",
            "value": 3,
            "observedAt": "2026-01-01T00:00:00Z",
        },
    }
    data = from_ld(entity, ALL)
    assert data.type == "AirQualityObserved"
    assert data.readings[0].attribute == "no2"
    assert definition(data.type, "no2") == "https://smartdatamodels.org/dataModel.Environment/no2"
    assert definition("WaterQualityObserved", "pH").endswith("dataModel.WaterQuality/pH")


def test_ld_temporal_instances_each_become_a_reading_with_their_own_time():
    entity = {
        "id": "urn:a",
        "type": "AirQualityObserved",
        "no2": [
            {
                "type": "Property",
                "value": 1,
                "observedAt": "2026-01-01T00:00:00Z",
                "unitCode": "GQ",
            },
            {
                "type": "Property",
                "value": 2,
                "observedAt": "2026-01-01T01:00:00Z",
                "unitCode": "GQ",
            },
            {"type": "Property", "value": 3},
        ],
    }
    data = from_ld_temporal(entity, ALL)
    assert [(r.value, r.unit_code) for r in data.readings] == [(1, "GQ"), (2, "GQ")]
    assert data.skipped == 1


def test_unit_codes_become_ucum():
    assert ucum("GQ") == "ug/m3" and ucum("CEL") == "Cel" and ucum("XYZ") == "XYZ"
    uom = unit_of_measurement("GQ", None)
    assert uom == {
        "name": "microgram per cubic metre",
        "symbol": "µg/m³",
        "definition": UCUM_BASE + "ug/m3",
    }
    assert unit_of_measurement(None, "Cel")["symbol"] == "°C"
    assert unit_of_measurement(None, None)["name"] == "unspecified"
    assert unit_of_measurement("ug/m3", None)["definition"] == UCUM_BASE + "ug/m3"


def _sta(sync: list[dict]) -> TenantSensorThings:
    return TenantSensorThings.model_validate({"store": {"path": "x.sqlite"}, "sync": sync})


def test_sync_configuration_is_checked():
    ok = _sta([{"kind": "ngsi-v2", "name": "air", "url": "http://orion:1026", "types": ["A"]}])
    assert ok.sync[0].interval == 60 and ok.sync[0].subscription is None
    with pytest.raises(ValidationError, match="given twice"):
        _sta([{"kind": "ngsi-v2", "name": "air", "url": "http://o", "types": ["A"]}] * 2)
    with pytest.raises(ValidationError, match="ngsi-ld uses 'tenant'"):
        _sta([{"kind": "ngsi-ld", "name": "a", "url": "http://o", "types": ["A"], "service": "x"}])
    with pytest.raises(ValidationError, match="types"):
        _sta([{"kind": "ngsi-v2", "name": "a", "url": "http://o", "types": []}])
    with pytest.raises(ValidationError, match="secret_env"):
        _sta(
            [
                {
                    "kind": "ngsi-v2",
                    "name": "a",
                    "url": "http://o",
                    "types": ["A"],
                    "subscription": {"notify_url": "http://gw/t/sync/ngsi/a/notify"},
                }
            ]
        )
