"""The one path syntax of connectors and mapping rules."""

from __future__ import annotations

import pytest

from connectors import paths


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("temperature", ("temperature",)),
        ("temperature.value", ("temperature", "value")),
        ("sensors[0].unit", ("sensors", 0, "unit")),
        ("location.coordinates[1]", ("location", "coordinates", 1)),
        ("m[2][3]", ("m", 2, 3)),
        (r"dataModel\.Environment.NO2", ("dataModel.Environment", "NO2")),
        (r"odd\[key\]\\", ("odd[key]\\",)),
    ],
)
def test_parse_and_join_round_trip(text: str, parts: tuple[paths.Part, ...]) -> None:
    assert paths.parse(text) == parts
    assert paths.join(parts) == text


@pytest.mark.parametrize("bad", ["", ".", "a.", ".a", "a..b", "[0]", "a[", "a[x]", "a[0]b", "a]"])
def test_malformed_paths_are_named(bad: str) -> None:
    with pytest.raises(paths.PathError, match="path '"):
        paths.parse(bad)


def test_get_walks_objects_and_arrays_and_misses_quietly() -> None:
    record = {"a": {"b": [{"c": 1}, {"c": 2}]}, "n": None}
    assert paths.get(record, paths.parse("a.b[1].c")) == 2
    assert paths.get(record, paths.parse("a.b[2].c")) is None
    assert paths.get(record, paths.parse("a.x"), default="-") == "-"
    assert paths.get(record, paths.parse("n.x")) is None
    assert paths.get(record, paths.parse("a.b.c")) is None  # a list has no names


def test_flatten_names_leaves_by_path() -> None:
    entity = {
        "temperature": {
            "type": "Number",
            "value": 21.5,
            "metadata": {"unitCode": {"value": "CEL"}},
        },
        "refDevice": [{"id": "d1"}, {"id": "d2"}],
        "tags": ["a", "b"],
        "empty": {},
        "dotted.key": 1,
    }
    flat = paths.flatten(entity)
    assert flat == {
        "temperature.type": "Number",
        "temperature.value": 21.5,
        "temperature.metadata.unitCode.value": "CEL",
        "refDevice[0].id": "d1",
        "refDevice[1].id": "d2",
        "tags": ["a", "b"],
        "empty": {},
        r"dotted\.key": 1,
    }
    for key, value in flat.items():  # every key leads back to its value
        assert paths.get(entity, paths.parse(key)) == value


def test_flatten_bounds_depth_and_array_items() -> None:
    deep = {"a": {"b": {"c": {"d": 1}}}}
    assert paths.flatten(deep, max_depth=2) == {"a.b": {"c": {"d": 1}}}
    many = {"xs": [{"v": i} for i in range(50)]}
    assert len(paths.flatten(many, max_items=5)) == 5
