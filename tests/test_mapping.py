import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gateway.catalog import CollectionSource
from gateway.mapping import Mapper, Mapping, compile_rule
from gateway.server import demo_config


def mapper(**properties) -> Mapper:
    return Mapper(Mapping(id="nr", properties=properties))


def record(**props):
    return {"id": 0, "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": props}


def test_rename_keeps_value_and_takes_id_from_configured_field():
    f = mapper(species="art")(record(nr=7, art="Tilia cordata"))
    assert f["id"] == 7 and f["properties"] == {"species": "Tilia cordata"}
    assert f["geometry"]["coordinates"] == [1, 2]


def test_unit_factor_turns_diameter_into_circumference():
    f = mapper(circ={"from": "d", "type": "number", "factor": math.pi})(record(nr=1, d="40"))
    assert f["properties"]["circ"] == round(40 * math.pi, 6)


def test_factor_with_integer_type_rounds():
    f = mapper(h={"from": "cm", "type": "integer", "factor": 0.01})(record(nr=1, cm=1250))
    assert f["properties"]["h"] == 12


def test_offset_after_factor():
    f = mapper(t={"from": "f", "factor": 5 / 9, "offset": -160 / 9})(record(nr=1, f=212))
    assert f["properties"]["t"] == 100


def test_code_list_maps_and_unknown_codes_become_null():
    rule = {"from": "code", "codes": {"TI": "Tilia", 3: "Maxvorstadt"}}
    m = mapper(genus=rule)
    assert m(record(nr=1, code="TI"))["properties"]["genus"] == "Tilia"
    assert m(record(nr=1, code=3))["properties"]["genus"] == "Maxvorstadt"
    assert m(record(nr=1, code="XX"))["properties"]["genus"] is None


def test_split_maps_each_item_of_a_multi_valued_field_through_the_code_list():
    codes = {"AC Steckdose Typ 2": "type2", "DC Kupplung Combo": "ccs2", "DC CHAdeMO": "chademo"}
    m = mapper(connectors={"from": "stecker", "split": ",", "codes": codes})
    text = "DC Kupplung Combo, DC CHAdeMO,AC Steckdose Typ 2, DC Kupplung Combo"
    assert m(record(nr=1, stecker=text))["properties"]["connectors"] == ["ccs2", "chademo", "type2"]
    assert m(record(nr=1, stecker="AC CEE rot, DC CHAdeMO"))["properties"]["connectors"] == [
        "chademo"
    ]  # an unknown item is dropped, the rest kept
    assert m(record(nr=1, stecker=["DC CHAdeMO"]))["properties"]["connectors"] == ["chademo"]
    assert m(record(nr=1, stecker=""))["properties"]["connectors"] is None
    assert m(record(nr=1, stecker="AC CEE rot"))["properties"]["connectors"] == []


def test_split_with_a_cast_and_its_configuration_errors():
    m = mapper(years={"from": "j", "split": ";", "type": "integer"})
    assert m(record(nr=1, j="2019; 2021 ;x"))["properties"]["years"] == [2019, 2021]
    with pytest.raises(ValidationError, match="'split' does not combine"):
        Mapping(properties={"p": {"from": "kw", "split": ",", "factor": 1000}})
    with pytest.raises(ValidationError, match="'split' needs 'from'"):
        Mapping(properties={"p": {"template": "{a}", "split": ","}})


def test_constant_and_template():
    m = mapper(city={"constant": "Leipzig"}, street={"template": "{str} {nr_h}"})
    props = m(record(nr=1, str="Karl-Liebknecht-Straße", nr_h=12.0))["properties"]
    assert props == {"city": "Leipzig", "street": "Karl-Liebknecht-Straße 12"}
    assert m(record(nr=1, str="Ring", nr_h=None))["properties"]["street"] == "Ring"
    assert m(record(nr=1))["properties"]["street"] is None


def test_type_casts_including_german_dates_and_bad_values():
    m = mapper(
        year={"from": "y", "type": "integer"},
        day={"from": "d", "type": "date", "format": "%d.%m.%Y"},
        at={"from": "t", "type": "datetime"},
        ok={"from": "b", "type": "boolean"},
        label={"from": "n", "type": "string"},
    )
    props = m(record(nr=1, y="1987", d="05.04.2023", t="2023-04-05T10:00:00", b="ja", n=12))
    assert props["properties"] == {
        "year": 1987,
        "day": "2023-04-05",
        "at": "2023-04-05T10:00:00Z",
        "ok": True,
        "label": "12",
    }
    bad = m(record(nr=1, y="n/a", d="2023-99-99", t="", b="vielleicht", n=None))["properties"]
    assert bad == {"year": None, "day": None, "at": None, "ok": None, "label": None}


def test_without_mapping_source_fields_pass_through():
    f = Mapper(None)({"id": "a", "geometry": None, "properties": {"Raw Name": 1}})
    assert f == {"type": "Feature", "id": "a", "geometry": None, "properties": {"Raw Name": 1}}


def test_property_order_follows_the_profile():
    m = Mapper(Mapping(properties={"b": "x", "a": "y"}), property_order=["a", "b"])
    assert list(m(record(x=1, y=2))["properties"]) == ["a", "b"]


# --- the fast path (renames copied, other rules as closures) against the general path ------


def general_path(mapping: Mapping, order: list[str], record: dict[str, Any]) -> dict[str, Any]:
    """Every rule through its compiled closure, in profile order, then the mapping's: the
    definition the fast path must reproduce exactly."""
    rules, props = mapping.rules(), record.get("properties") or {}
    names = [n for n in order if n in rules] + [n for n in rules if n not in order]
    return {
        "type": "Feature",
        "id": props.get(mapping.id) if mapping.id else record.get("id"),
        "geometry": record.get("geometry"),
        "properties": {name: compile_rule(rules[name])(props) for name in names},
    }


def assert_identical(mapping: Mapping, order: list[str], record: dict[str, Any]) -> None:
    # repr tells 1 from 1.0 from True, shows nan and the key order: what the encoder sees.
    fast = Mapper(mapping, order)(record)
    assert repr(fast) == repr(general_path(mapping, order, record))


def test_fast_path_maps_the_demo_cities_exactly_like_the_general_path(demo_dir: Path):
    loaded = demo_config()
    for tenant, tenant_config in loaded.config.tenants.items():
        for cid, cfg in tenant_config.collections.items():
            source = CollectionSource(tenant, cid, cfg, loaded)
            if not source.connector.in_memory():
                continue  # read live over HTTP (the broker's and the REST API's)
            _, records = source.connector.load()
            assert source.mapper.renames and source.mapper.computed, "a mixed mapping"
            assert cfg.mapping is not None and source.profile is not None
            order = list(source.profile.properties())
            for record in records:
                assert_identical(cfg.mapping, order, record)


def test_fast_path_with_renames_only_keeps_the_profile_order():
    mapping = Mapping(properties={"b": "x", "a": "y", "c": {"from": "z"}})
    assert not Mapper(mapping).computed
    assert_identical(mapping, ["a", "b"], record(x=1, y=None))


FIELDS = ("f0", "f1", "f2", "f3")
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "12,5", "1.5", "n/a", "ja", "0", "TI", "2023-04-05", "05.04.2023"]),
    st.sampled_from(["2023-04-05T10:00:00Z", "2023-04-05T10:00:00+02:00", "1e400"]),
    st.text(max_size=8),
)
rule_dicts = st.one_of(
    st.sampled_from(FIELDS),
    st.builds(dict, **{"from": st.sampled_from(FIELDS)}),
    st.builds(
        dict,
        **{"from": st.sampled_from(FIELDS)},
        type=st.sampled_from(["string", "integer", "number", "boolean", "date", "datetime"]),
    ),
    st.builds(
        dict,
        **{"from": st.sampled_from(FIELDS)},
        type=st.sampled_from(["date", "datetime"]),
        format=st.sampled_from(["%d.%m.%Y", "%Y-%m-%d"]),
    ),
    st.builds(
        dict,
        **{"from": st.sampled_from(FIELDS)},
        type=st.sampled_from(["number", "integer"]),
        factor=st.floats(-100, 100, allow_nan=False),
        offset=st.floats(-100, 100, allow_nan=False),
    ),
    st.builds(
        dict,
        **{"from": st.sampled_from(FIELDS)},
        codes=st.dictionaries(st.sampled_from(["TI", "0", "1", "1.5", "ja"]), values, max_size=3),
    ),
    st.builds(dict, constant=st.sampled_from(["Leipzig", 7, 1.5, True])),
    st.builds(dict, template=st.sampled_from(["{f0} {f1}", "{f2}", "Nr. {f3}"])),
)


@settings(max_examples=300, deadline=None)
@given(
    rules=st.dictionaries(st.sampled_from("abcdefgh"), rule_dicts, min_size=1, max_size=8),
    order=st.permutations(list("abcdefgh")),
    props=st.dictionaries(st.sampled_from(FIELDS), values),
)
def test_fast_path_equals_general_path_for_every_rule_kind(rules, order, props):
    mapping = Mapping(id="f0", properties=rules)
    assert_identical(mapping, order[:5], {"id": 1, "geometry": None, "properties": props})


# --- projection: what a connector must fetch, and records handed over ---------------------


def test_inputs_name_every_field_the_rules_read_renames_first_then_the_id():
    m = mapper(
        genus="gattung",
        street={"template": "{strasse} {hausnr}"},
        height={"from": "hoehe_cm", "factor": 0.01},
        city={"constant": "Leipzig"},
    )
    assert m.inputs() == ("gattung", "strasse", "hausnr", "hoehe_cm", "nr")
    assert Mapper(None).inputs() is None


def test_take_hands_over_a_projected_record_when_every_rule_keeps_its_name():
    m = Mapper(Mapping(id="nr", properties={"genus": "genus", "year": "year"}))
    projected = record(genus="Tilia", year=1990, nr=7)  # as inputs() orders them
    expected = m(record(genus="Tilia", year=1990, nr=7))
    taken = m.take(projected)
    assert taken == expected and list(taken["properties"]) == ["genus", "year"]
    assert taken["properties"] is projected["properties"]  # no copy
    # Anything else (a missing field, a renamed one) is mapped as usual.
    sparse = record(genus="Tilia", nr=7)
    assert m.take(sparse) == m(record(genus="Tilia", nr=7))
    renamed = mapper(genus="gattung")
    assert renamed.take(record(gattung="Acer", nr=1)) == renamed(record(gattung="Acer", nr=1))


def test_paths_read_flattened_and_nested_records_alike() -> None:
    """A rule's `from` path reads the key a connector flattened, or walks a nested value."""
    mapper = Mapper(
        Mapping(
            properties={
                "street": "address.street",
                "unit": {"from": "sensors[1].unit", "codes": {"ug/m3": "ug/m3", "C": "Cel"}},
                "no2": {"from": "NO2.value", "type": "number"},
                "label": {"template": "{address.street} {address.number}"},
            }
        )
    )
    nested = {
        "properties": {
            "address": {"street": "Coolsingel", "number": 40},
            "sensors": [{"unit": "ug/m3"}, {"unit": "C"}],
            "NO2": {"value": "31,5"},
        }
    }
    flat = {
        "properties": {
            "address.street": "Coolsingel",
            "address.number": 40,
            "sensors[1].unit": "C",
            "NO2.value": 31.5,
        }
    }
    expected = {"street": "Coolsingel", "unit": "Cel", "no2": 31.5, "label": "Coolsingel 40"}
    assert mapper(nested)["properties"] == expected
    assert mapper(flat)["properties"] == expected
    assert mapper({"properties": {"address": "not an object"}})["properties"] == {
        "street": None,
        "unit": None,
        "no2": None,
        "label": None,
    }


@pytest.mark.parametrize("bad", ["address..street", "sensors[x]", "a."])
def test_a_malformed_path_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ValidationError, match="path"):
        Mapping(properties={"street": bad})
    with pytest.raises(ValidationError, match="path"):
        Mapping(properties={"street": {"template": "{" + bad + "}"}})
