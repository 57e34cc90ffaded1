import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from connectors.filters import (
    MAX_TIME,
    OPS,
    TEMPORAL_RELATIONS,
    Call,
    Literal,
    Property,
    conjoin,
    conjuncts,
    depth,
    end_of,
    like_match,
    like_tokens,
    map_properties,
    ops,
    properties,
    size,
    start_of,
    typed_key,
)

EXPR = Call(
    "and",
    (
        Call(">", (Property("a"), Literal(1))),
        Call(
            "or", (Call("isNull", (Property("b"),)), Call("like", (Property("a"), Literal("x%"))))
        ),
    ),
)


def test_helpers_report_properties_operators_size_and_depth():
    assert properties(EXPR) == {"a", "b"}
    assert ops(EXPR) == {"and", ">", "or", "isNull", "like"}
    assert size(EXPR) == 10
    assert depth(EXPR) == 4


def test_map_properties_renames_or_substitutes():
    renamed = map_properties(EXPR, lambda n: n.upper())
    assert properties(renamed) == {"A", "B"}
    assert map_properties(Property("a"), lambda n: Literal(5)) == Literal(5)


def test_conjuncts_flatten_nested_ands_and_conjoin_rebuilds():
    a, b, c = (Call("=", (Property(n), Literal(1))) for n in "abc")
    assert conjuncts(Call("and", (a, Call("and", (b, c))))) == [a, b, c]
    assert conjuncts(a) == [a]
    assert conjoin([]) is None and conjoin([a]) == a
    assert conjoin([a, b]) == Call("and", (a, b))


def test_like_tokens_read_escapes_and_a_trailing_backslash_literally():
    assert like_tokens("a%_\\%\\_\\\\x\\") == [
        ("char", "a"),
        ("any", "%"),
        ("one", "_"),
        ("char", "%"),
        ("char", "_"),
        ("char", "\\"),
        ("char", "x"),
        ("char", "\\"),
    ]


@given(
    pattern=st.text(alphabet="ab%_\\\n", max_size=8),
    value=st.text(alphabet="ab%_\\\n", max_size=10),
)
def test_like_matches_what_a_backtracking_regex_of_the_pattern_matches(pattern, value):
    """The piecewise matcher against the obvious (exponential) reading, on small cases."""
    parts = {"any": ".*", "one": "."}
    regex = "".join(parts.get(k) or re.escape(c) for k, c in like_tokens(pattern))
    assert like_match(value, pattern) == bool(re.fullmatch(regex, value, re.DOTALL))


def test_a_date_spans_its_whole_day_and_the_last_day_ends_at_max_time():
    assert start_of(date(2024, 5, 1)) == datetime(2024, 5, 1, tzinfo=UTC)
    assert end_of(date(2024, 5, 1)) == datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert end_of(date(9999, 12, 31)) == MAX_TIME
    moment = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert start_of(moment) == end_of(moment) == moment


def test_every_temporal_operator_has_a_formula_and_is_an_operator():
    assert len(TEMPORAL_RELATIONS) == 15
    assert set(TEMPORAL_RELATIONS) <= OPS


def test_typed_key_tells_apart_literals_that_python_finds_equal():
    utc = datetime(2024, 5, 1, 12, tzinfo=UTC)
    noon_plus_two = utc.astimezone(timezone(timedelta(hours=2)))
    twins = [
        (1, True, 1.0),
        (0.0, -0.0),
        (utc, noon_plus_two),
        ((1, 2), (True, 2.0)),
    ]
    for values in twins:
        assert len({Literal(v) for v in values}) == 1  # the nodes' own equality
        assert len({typed_key(Literal(v)) for v in values}) == len(values)
    assert typed_key(EXPR) == typed_key(map_properties(EXPR, str))  # equal trees, equal keys
    assert typed_key(Property("a")) != typed_key(Literal("a"))
    point = shapely.Point(1, 2)
    assert typed_key(Literal(point)) == typed_key(Literal(shapely.Point(1.0, 2.0)))
    with pytest.raises(TypeError):
        typed_key(Literal([1, 2]))  # a list is no literal of the AST: no key, no cache
