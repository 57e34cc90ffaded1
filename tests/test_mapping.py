import math

from gateway.config import Mapping
from gateway.mapping import Mapper


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
