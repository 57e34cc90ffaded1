"""`default`, `collect` and the operations (sum, min, max, difference, product, quotient):
values, nulls, values that are no number (counted), and the configurations refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.mapping import Mapper, Mapping, MappingRule, compile_rule, invertible
from gateway.mapping.invert import why_not_invertible
from gateway.mapping.types import property_type


def value(rule: dict, report=None, **props):
    return compile_rule(MappingRule.model_validate(rule), report)(props)


# --- default -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", "n/a"])
def test_default_stands_in_for_absent_empty_and_uncastable_values(raw):
    assert value({"from": "h", "type": "number", "default": 0}, h=raw) == 0


def test_default_leaves_a_present_value_alone():
    assert value({"from": "h", "type": "number", "default": 0}, h="12,5") == 12.5


def test_default_applies_after_factor_so_it_is_in_profile_units():
    rule = {"from": "cm", "type": "number", "factor": 0.01, "default": 3.0}
    assert value(rule, cm=250) == 2.5 and value(rule, cm=None) == 3.0


def test_a_code_without_an_entry_falls_back_to_the_default():
    rule = {"from": "art", "codes": {"1": "public", "2": "private"}, "default": "unknown"}
    assert value(rule, art=1) == "public"
    assert value(rule, art=7) == "unknown"
    assert value(rule, art=None) == "unknown"


def test_a_code_mapped_to_null_falls_back_to_the_default_too():
    rule = {"from": "z", "codes": {"1": None, "2": "ruin"}, "default": "functional"}
    assert value(rule, z="1") == "functional"


def test_a_plain_rename_with_default_treats_empty_text_as_absent():
    assert value({"from": "name", "default": "unbenannt"}, name="") == "unbenannt"
    assert value({"from": "name", "default": "unbenannt"}, name="Lindenhof") == "Lindenhof"
    m = Mapper(
        Mapping(properties={"name": MappingRule.model_validate({"from": "n", "default": "-"})})
    )
    assert m({"properties": {}})["properties"] == {"name": "-"}  # no longer a plain copy


def test_default_of_a_list_rule_applies_to_a_missing_list():
    rule = {"from": "s", "split": ",", "default": []}
    assert value(rule, s=None) == [] and value(rule, s="a, b") == ["a", "b"]


def test_default_fills_an_empty_template():
    rule = {"template": "{street} {number}", "default": "ohne Adresse"}
    assert value(rule, street=None, number="") == "ohne Adresse"


# --- collect -----------------------------------------------------------------------------

STECKER = {
    "collect": ["Steckertypen1", "Steckertypen2", "Steckertypen3", "Steckertypen4"],
    "split": ",",
    "codes": {"AC Steckdose Typ 2": "type2", "DC Kupplung Combo": "ccs2", "DC CHAdeMO": "chademo"},
}


def test_collect_gathers_columns_into_one_list_without_nulls_or_repeats():
    got = value(
        STECKER,
        Steckertypen1="DC Kupplung Combo, DC CHAdeMO",
        Steckertypen2="AC Steckdose Typ 2",
        Steckertypen3="",
        Steckertypen4="DC Kupplung Combo",
    )
    assert got == ["ccs2", "chademo", "type2"]


def test_collect_drops_values_without_a_code_and_gives_null_for_empty_columns():
    assert value(STECKER, Steckertypen1="Tesla", Steckertypen2=None) == []
    assert value(STECKER, Steckertypen1=None, Steckertypen2="") is None


def test_collect_casts_each_item_and_reads_paths():
    rule = {"collect": ["a.x", "b"], "type": "integer"}
    assert value(rule, a={"x": "3"}, b=[4, "4", "x", None]) == [3, 4]


# --- operations --------------------------------------------------------------------------


def test_difference_gives_the_height_above_ground_from_absolute_heights():
    rule = {"difference": ["HoeheDach", "HoeheGrund"], "type": "number"}
    assert value(rule, HoeheDach=531.43, HoeheGrund=519.13) == 12.3  # no float noise


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"sum": ["p1", "p2", "p3"]}, 33.0),  # p3 null: skipped
        ({"max": ["p1", "p2", "p3"]}, 22.0),
        ({"min": ["p1", "p2", "p3"]}, 11.0),
        ({"product": ["p1", "p2"]}, 242.0),
        ({"product": ["p1", "p3"]}, None),  # a null operand gives null
        ({"quotient": ["p2", "p1"]}, 2.0),
        ({"difference": ["p1", "p3"]}, None),
        ({"difference": [100, "p1"]}, 89.0),  # a number operand
        ({"sum": ["p1", "p2"], "factor": 1000, "type": "integer"}, 33000),
    ],
)
def test_operations(rule, expected):
    assert value(rule, p1="11", p2=22, p3=None) == expected


def test_aggregates_of_only_nulls_are_null_and_take_the_default():
    assert value({"sum": ["a", "b"]}, a=None, b="") is None
    assert value({"sum": ["a", "b"], "default": 0}, a=None, b=None) == 0


def test_a_value_that_is_no_number_is_left_out_and_counted():
    problems: list[tuple[str, str]] = []

    def count(field: str, problem: str) -> None:
        problems.append((field, problem))

    assert value({"sum": ["a", "b"]}, count, a="x", b=2) == 2  # left out of the sum
    assert value({"difference": ["a", "b"]}, count, a="x", b=2) is None
    assert problems == [("a", "not a number"), ("a", "not a number")]


def test_a_division_by_zero_is_null_and_counted():
    problems: list[tuple[str, str]] = []
    assert value({"quotient": ["a", "b"]}, lambda f, p: problems.append((f, p)), a=1, b=0) is None
    assert problems == [("b", "division by zero")]


def test_the_mapper_counts_problems_and_fetches_every_operand():
    problems: list[tuple[str, str]] = []
    rules = {"h": {"difference": ["top", "ground"]}, "k": {"collect": ["k1", "k2"]}}
    m = Mapper(
        Mapping.model_validate({"properties": rules}), report=lambda f, p: problems.append((f, p))
    )
    assert m.inputs() == ("top", "ground", "k1", "k2")
    assert m({"properties": {"top": "hoch", "ground": 1}})["properties"] == {"h": None, "k": None}
    assert problems == [("top", "not a number")]


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"from": "a", "sum": ["a", "b"]}, "found 'from', 'sum'"),
        ({"collect": ["a", "b"], "difference": ["a", "b"]}, "found 'collect', 'difference'"),
        ({"difference": ["a", "b", "c"]}, "'difference' takes exactly two operands"),
        ({"sum": ["a"]}, "at least two operands"),
        ({"sum": [1, 2]}, "at least one source field"),
        ({"collect": ["a"]}, "at least two source fields"),
        (
            {"sum": ["a", "b"], "codes": {"x": 1}},
            "'sum' computes a number: it does not combine with 'codes'",
        ),
        ({"product": ["a", "b"], "split": ","}, "does not combine with 'split'"),
        ({"max": ["a", "b"], "type": "string"}, "'type' may be integer or number"),
        ({"collect": ["a", "b"], "factor": 2}, "'collect' does not combine with 'factor'"),
        ({"constant": 1, "default": 2}, "'default' has no use with 'constant'"),
        ({"from": "a", "type": "integer", "default": "x"}, "'default' must be of type integer"),
        ({"from": "a", "type": "integer", "default": True}, "'default' must be of type integer"),
        ({"sum": ["a", "b"], "default": "none"}, "'default' must be of type number"),
        ({"collect": ["a", "b"], "default": "x"}, "must be a list"),
        ({"sum": ["a", "b["]}, "sum"),  # a broken path names its key
    ],
)
def test_contradictory_rules_are_refused_naming_the_key(rule, message):
    with pytest.raises(ValidationError) as e:
        MappingRule.model_validate(rule)
    assert message in str(e.value)


def test_the_existing_rule_api_still_reads_the_same():
    rule = MappingRule.model_validate({"from": "baumhoehe", "type": "number"})
    assert rule.from_ == "baumhoehe" and rule.default is None and rule.operation is None
    assert MappingRule.model_validate({"from": "x", "split": ","}).split == ","


# --- types and invertibility ---------------------------------------------------------------


def test_queryable_types_of_computed_rules():
    assert property_type(MappingRule.model_validate({"difference": ["a", "b"]}), {}) == "number"
    assert (
        property_type(MappingRule.model_validate({"sum": ["a", "b"], "type": "integer"}), {})
        == "integer"
    )
    collected = MappingRule.model_validate({"collect": ["a", "b"]})
    assert property_type(collected, {"a": "string", "b": "string"}) == "string"


@pytest.mark.parametrize(
    ("rule", "ok"),
    [
        ({"from": "a"}, True),
        ({"from": "a", "type": "number", "factor": 0.01}, True),
        ({"from": "a", "codes": {"1": "x", "2": "y"}}, True),
        ({"from": "a", "codes": {"1": "x", "2": "x"}}, False),
        ({"from": "a", "default": 0}, False),
        ({"difference": ["a", "b"]}, False),
        ({"collect": ["a", "b"]}, False),
        ({"template": "{a} {b}"}, False),
        ({"constant": 1}, False),
    ],
)
def test_only_one_to_one_rules_are_invertible_for_writes(rule, ok):
    parsed = MappingRule.model_validate(rule)
    assert invertible(parsed) is ok
    assert (why_not_invertible(parsed) is None) is ok
