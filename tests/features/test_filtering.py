"""The `filter` parameter is parsed once per text, language, CRS and queryables."""

import dataclasses
from datetime import date, datetime
from typing import Any

import pytest
import shapely

from connectors.filters import Literal, TimeInterval, typed_key, walk
from gateway.errors import InvalidParameter
from gateway.features import filtering
from gateway.features.filtering import parse_filters
from gateway.query import cql2

QUERYABLES = {
    "pop": {"type": "integer"},
    "name": {"type": "string"},
    "day": {"type": "string", "format": "date"},
    "geom": {"format": "geometry-point", "x-ogc-role": "primary-geometry"},
}
IMMUTABLE = (type(None), bool, int, float, str, date, datetime, shapely.Geometry)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts cql2.parse really parsed during the test."""
    seen: list[str] = []

    def spy(text: Any, *args: Any, **kw: Any) -> Any:
        seen.append(text)
        return real(text, *args, **kw)

    real = cql2.parse
    monkeypatch.setattr(filtering.cql2, "parse", spy)
    return seen


def queryables(**changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A fresh copy each time, as every request builds its own."""
    return {name: dict(schema) for name, schema in (QUERYABLES | changes).items()}


def test_every_page_of_one_filter_is_parsed_once(parses: list[str]):
    standard = {"filter": "pop > 1001 AND name = 'paging'", "filter-lang": "cql2-text"}
    first = parse_filters(standard, {}, queryables())
    for _ in range(3):
        assert parse_filters(standard, {}, queryables()) is first
    assert parses == [standard["filter"]]


def test_a_bad_filter_is_refused_every_time(parses: list[str]):
    for _ in range(2):
        with pytest.raises(InvalidParameter, match="unknown property 'nope'"):
            parse_filters({"filter": "nope = 1002"}, {}, queryables())
    assert parses == ["nope = 1002", "nope = 1002"]


def test_other_queryables_other_language_or_crs_parse_again(parses: list[str]):
    text = "pop = 1003"
    assert parse_filters({"filter": text}, {}, queryables())
    with pytest.raises(InvalidParameter, match="types must match"):
        parse_filters({"filter": text}, {}, queryables(pop={"type": "string"}))
    with pytest.raises(InvalidParameter, match="unknown property 'pop'"):
        parse_filters({"filter": text}, {}, {"name": {"type": "string"}})
    parse_filters({"filter": text, "filter-lang": "cql-text"}, {}, queryables())
    assert len(parses) == 4

    point = "S_INTERSECTS(geom, POINT(53.5 10.0))"
    crs84 = parse_filters({"filter": point}, {}, queryables())
    lat_lon = parse_filters({"filter": point, "filter-crs": "EPSG:4326"}, {}, queryables())
    assert crs84.args[1].value.coords[0] == (53.5, 10.0)
    assert lat_lon.args[1].value.coords[0] == (10.0, 53.5)


@pytest.mark.parametrize(
    "text",
    [
        "pop IN (1, 2, 3) AND name LIKE 'B%' AND day > DATE('2024-05-01')",
        "S_INTERSECTS(geom, POLYGON((0 0, 1 0, 1 1, 0 0))) OR pop + 1 > 2.5",
        "T_INTERSECTS(day, INTERVAL('2024-01-01', '..')) AND A_CONTAINS(('a', 'b'), ('a'))",
    ],
)
def test_shared_filter_trees_are_immutable(text: str):
    for node in walk(parse_filters({"filter": text}, {}, queryables())):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(node, dataclasses.fields(node)[0].name, None)
        if isinstance(node, Literal):
            assert_immutable(node.value)
        assert hash(typed_key(node)) is not None


def assert_immutable(value: Any) -> None:
    if isinstance(value, tuple):
        for item in value:
            assert_immutable(item)
    elif isinstance(value, TimeInterval):
        assert_immutable(value.start)
        assert_immutable(value.end)
    else:
        assert isinstance(value, IMMUTABLE), type(value)


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e999"])
def test_a_queryable_parameter_must_be_a_finite_number(value: str):
    """A NaN compares unknown in the gateway and greatest in PostgreSQL: refused at once."""
    with pytest.raises(InvalidParameter, match="finite"):
        parse_filters({}, {"height": value}, queryables(height={"type": "number"}))


def test_a_queryable_parameter_keeps_an_integer_beyond_bigint_exact():
    expr = parse_filters({}, {"pop": "99999999999999999999999"}, queryables())
    assert expr.args[1] == Literal(99999999999999999999999)


def test_like_pattern_bounds_come_from_the_server_settings():
    from gateway.config import QuerySettings

    strict = filtering.filter_limits(QuerySettings(like_wildcards=2))
    text = {"filter": "name LIKE '%a%b%'"}
    with pytest.raises(InvalidParameter, match="3 wildcards .* the limit is 2"):
        parse_filters(text, {}, queryables(), limits=strict)
    assert parse_filters(text, {}, queryables()) is not None  # the default allows 64


def test_a_boolean_queryable_parameter_takes_true_or_false_only():
    flags = {"geschuetzt": {"type": "boolean"}}
    assert parse_filters({}, {"geschuetzt": "TRUE"}, flags) is not None
    with pytest.raises(InvalidParameter, match="'maybe' is neither true nor false"):
        parse_filters({}, {"geschuetzt": "maybe"}, flags)
