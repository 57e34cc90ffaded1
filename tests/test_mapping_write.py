"""The mapping run backwards (gateway/mapping/write.py): each rule kind, what reads back
differently is refused, computed properties only as they compute."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.mapping import Mapper, Mapping
from gateway.mapping.write import InverseMapping, NotWritable, merge_patch


def inverse(properties: dict[str, Any], types: dict[str, str]) -> InverseMapping:
    return InverseMapping(Mapper(Mapping(properties=properties)), types)


def test_a_code_list_with_numbered_codes_writes_the_number() -> None:
    inv = inverse(
        {"district": {"from": "nr", "codes": {"1": "Altstadt", "3": "Maxvorstadt"}}},
        {"nr": "integer"},
    )
    assert inv.to_source({"district": "Maxvorstadt"}, ["district"]) == {"nr": 3}
    with pytest.raises(NotWritable) as caught:
        inv.to_source({"district": "Pasing"}, ["district"])
    assert caught.value.prop == "district" and "code list" in caught.value.reason


def test_units_are_undone_and_must_read_back_exactly() -> None:
    inv = inverse(
        {
            "t": {"from": "raw", "type": "number", "factor": 2, "offset": 1},
            "h": {"from": "cm", "type": "number", "factor": 0.01},
        },
        {"raw": "number", "cm": "integer"},
    )
    assert inv.to_source({"t": 20.0, "h": 12.5}, ["t", "h"]) == {"raw": 9.5, "cm": 1250}
    with pytest.raises(NotWritable, match="h: 12.345 cannot be stored exactly"):
        inv.to_source({"h": 12.345}, ["h"])


def test_dates_are_written_in_the_sources_own_format_and_times_in_utc() -> None:
    inv = inverse(
        {
            "d": {"from": "datum", "type": "date", "format": "%d.%m.%Y"},
            "t": {"from": "zeit", "type": "datetime"},
        },
        {"datum": "string", "zeit": "string"},
    )
    written = inv.to_source({"d": "2024-10-01", "t": "2024-05-01T10:00:00+02:00"}, ["d", "t"])
    assert written == {"datum": "01.10.2024", "zeit": "2024-05-01T08:00:00Z"}


def test_a_constant_is_accepted_only_as_itself() -> None:
    inv = inverse({"ags": {"constant": "09162000"}, "name": "n"}, {"n": "string"})
    assert inv.to_source({"ags": "09162000", "name": "x"}, ["ags", "name"]) == {"n": "x"}
    with pytest.raises(NotWritable) as caught:
        inv.to_source({"ags": "02000000"}, ["ags"])
    assert caught.value.prop == "ags" and "constant" in caught.value.reason


def test_a_template_is_accepted_as_the_record_written_fills_it() -> None:
    inv = inverse(
        {"street": {"template": "{s} {n}"}, "s": "s", "n": "n"}, {"s": "string", "n": "string"}
    )
    fields = inv.to_source(
        {"street": "Elbchaussee 1", "s": "Elbchaussee", "n": "1"}, ["street", "s", "n"]
    )
    assert fields == {"s": "Elbchaussee", "n": "1"}
    with pytest.raises(NotWritable, match="street: cannot be written: a 'template'"):
        inv.to_source(
            {"street": "Elbchaussee 2", "s": "Elbchaussee", "n": "1"}, ["street", "s", "n"]
        )


def test_a_many_to_one_code_list_is_read_only() -> None:
    inv = inverse(
        {"w": {"from": "c", "codes": {"1": "no", "2": "no", "3": "yes"}}}, {"c": "string"}
    )
    with pytest.raises(NotWritable, match="several codes"):
        inv.to_source({"w": "no"}, ["w"], base={"c": "3"})
    assert inv.to_source({"w": "yes"}, ["w"], base={"c": "3"}) == {}


def test_without_a_mapping_fields_are_written_by_name_and_typed() -> None:
    inv = InverseMapping(Mapper(None), {"name": "string", "n": "integer"})
    assert inv.to_source({"name": "a", "n": 2.0}, ["name", "n"]) == {"name": "a", "n": 2}
    with pytest.raises(NotWritable, match="no field"):
        inv.to_source({"other": 1}, ["other"])
    with pytest.raises(NotWritable):
        inv.to_source({"n": True}, ["n"])


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert merge_patch({"a": 1}, {"b": {"c": None}}) == {"a": 1, "b": {}}
