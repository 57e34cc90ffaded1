"""Unit conversion in the profile filling (convert.py, `convert:` on an NGSI sync entry,
`unit:` on a rest reading): a source in m, or a ratio 0..1, is stored in the profile's
unit; a conversion the table does not know, or an attribute the profile lacks, stops
start-up; a reading in a third unit is never converted by guess."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.sensorthings.sync.config import NgsiSync
from gateway.sensorthings.sync.convert import Conversion, UnknownConversion
from gateway.sensorthings.sync.ngsimap import EntityData, Reading
from gateway.sensorthings.sync.profiled import ProfileBinding
from gateway.sensorthings.sync.restconfig import RestSync


@pytest.mark.parametrize(
    ("source", "target", "value", "expected"),
    [
        ("m", "cm", 1.23, 123.0),
        ("mm", "cm", 4567, 456.7),
        ("1", "%", 0.875, 87.5),
        ("%", "1", 42, 0.42),
        ("Cel", "K", 20, 293.15),
        ("[degF]", "Cel", 212, 100.0),
        ("L/s", "m3/s", 2500, 2.5),
        ("mS/cm", "uS/cm", 1.2, 1200.0),
        ("cm", "cm", 7.0, 7.0),
        ("{spaces}", "{spaces}", 12, 12),  # the same code: always known, unchanged
    ],
)
def test_known_conversions_are_exact(source: str, target: str, value: float, expected: float):
    assert Conversion.between(source, target)(value) == expected


@pytest.mark.parametrize(
    ("source", "target", "phrase"),
    [
        ("m", "m3/s", "different dimensions"),
        ("[ft_us]", "cm", "'[ft_us]' not in the unit table"),
        ("dB", "%", "'dB' not in the unit table"),
    ],
)
def test_unknown_conversions_are_refused_with_the_reason(source: str, target: str, phrase: str):
    with pytest.raises(UnknownConversion, match=phrase.replace("[", r"\[").replace("]", r"\]")):
        Conversion.between(source, target)


def _ngsi(**extra: object) -> NgsiSync:
    return NgsiSync.model_validate(
        {
            "kind": "ngsi-v2",
            "name": "level",
            "url": "http://127.0.0.1:1026",
            "types": ["WaterObserved"],
            "profile": "water-level",
            **extra,
        }
    )


def test_an_unknown_conversion_stops_start_up():
    with pytest.raises(ValidationError, match=r"convert.height: no conversion from 'm3/s'"):
        _ngsi(convert={"height": "m3/s"})


def test_converting_an_attribute_the_profile_lacks_stops_start_up():
    with pytest.raises(ValidationError, match="'swellHeight' is none of the observed properties"):
        _ngsi(convert={"swellHeight": "m"})


def test_convert_needs_a_profile():
    with pytest.raises(ValidationError, match="need a 'profile'"):
        NgsiSync.model_validate(
            {
                "kind": "ngsi-v2",
                "name": "level",
                "url": "http://127.0.0.1:1026",
                "types": ["WaterObserved"],
                "convert": {"height": "m"},
            }
        )


def test_a_rest_reading_in_an_unconvertible_unit_stops_start_up():
    with pytest.raises(ValidationError, match=r"no conversion from 'dB' to 'cm'"):
        RestSync.model_validate(
            {
                "kind": "rest",
                "name": "pegel",
                "url": "http://127.0.0.1:9",
                "stations": {"path": "s", "id": "id", "name": "n", "lon": "x", "lat": "y"},
                "readings": {"water_level": {"value": "v", "time": "t", "unit": "dB"}},
                "profile": "water-level",
            }
        )


def test_values_in_the_declared_unit_or_without_one_are_converted_others_kept():
    binding = _ngsi(convert={"height": "m"}).profile_binding()
    assert binding is not None
    readings = [
        Reading("height", 1.47, 0, 0, "MTR"),  # UN/CEFACT metre: converted
        Reading("height", 1.5, 1, 1, None),  # no unit: the declared one, converted
        Reading("height", 152.0, 2, 2, "cm"),  # already the profile's: unchanged
        Reading("height", 1500.0, 3, 3, "MMT"),  # a third unit: never guessed
        Reading("flow", 1287.0, 0, 0, "MQS"),  # not converted at all
    ]
    [out] = binding.converted([EntityData("e", "WaterObserved", "e", "d", readings=readings)])
    got = [(r.value, r.unit_code) for r in out.readings]
    assert got == [(147.0, "cm"), (150.0, "cm"), (152.0, "cm"), (1500.0, "MMT"), (1287.0, "MQS")]
    unit = {"definition": "http://unitsofmeasure.org/ucum.html#cm"}
    assert binding.observed("WaterObserved", "height", unit) is not None


def test_a_binding_without_conversions_hands_entities_through():
    binding = ProfileBinding.load("water-level", "1.0.0")
    entities = [EntityData("e", "WaterObserved", "e", "d")]
    assert binding.converted(entities) is entities


def test_whole_numbers_of_a_count_property_are_stored_as_integers():
    """OffStreetParking's counts arrive as JSON numbers (floats here); the profile's
    OM_CountObservation wants integers, and a converted occupancy stays a number."""
    binding = ProfileBinding.load(
        "parking-occupancy", None, convert={"occupancy": "1"}, types=["OffStreetParking"]
    )
    readings = [
        Reading("availableSpotNumber", 125.0, 0, 0, None),
        Reading("availableSpotNumber", 12.5, 1, 1, None),  # broken: left for the suite
        Reading("occupancy", 0.822, 0, 0, "C62"),
    ]
    [out] = binding.converted([EntityData("p", "OffStreetParking", "p", "d", readings=readings)])
    got = [(r.value, type(r.value).__name__) for r in out.readings]
    assert got == [(125, "int"), (12.5, "float"), (82.2, "float")]


def test_the_configuration_names_the_entry_and_the_units(tmp_path):
    """At start-up (`twinbridge config check`, `serve`): the file, the key, the reason."""
    from gateway.config import parse_config
    from gateway.errors import ConfigError

    sync = {
        "kind": "ngsi-v2",
        "name": "level",
        "url": "http://127.0.0.1:1026",
        "types": ["WaterObserved"],
        "profile": "water-level",
        "convert": {"height": "[ft_us]"},
    }
    store = {"path": str(tmp_path / "s.sqlite")}
    data = {"tenants": {"t": {"sensorthings": {"store": store, "sync": [sync]}}}}
    with pytest.raises(ConfigError) as e:
        parse_config(data, "twinbridge.yaml", tmp_path)
    message = str(e.value)
    assert "twinbridge.yaml" in message and "sensorthings.sync" in message
    assert "no conversion from '[ft_us]' to 'cm'" in message
