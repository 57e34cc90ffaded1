from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from gateway.errors import InvalidParameter, UnknownParameter
from gateway.features.params import (
    DATETIME_PATTERN,
    EARLIEST,
    LATEST,
    parse_bbox,
    parse_datetime,
    parse_limit,
    parse_offset,
    parse_properties,
    single_values,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_limit_defaults_clamps_and_rejects_non_integers():
    assert parse_limit(None, 10, 10000) == 10
    assert parse_limit("7", 10, 10000) == 7
    assert parse_limit("20000", 10, 10000) == 10000
    for bad in ("unlimited", "0", "-1", "1.5", "", "1e3", "99999999999999999999"):
        with pytest.raises(InvalidParameter, match="limit"):
            parse_limit(bad, 10, 10000)


def test_offset_must_be_a_non_negative_integer():
    assert parse_offset("20") == 20
    for bad in ("-1", "x", "1.0"):
        with pytest.raises(InvalidParameter, match="offset"):
            parse_offset(bad)


def test_bbox_accepts_four_or_six_numbers_and_long_decimals_from_gdal():
    assert parse_bbox("7,51,7.09999999999999964,51.1000000000000014") == pytest.approx(
        (7, 51, 7.1, 51.1)
    )
    assert parse_bbox("1,2,0,3,4,100") == (1, 2, 3, 4)
    assert parse_bbox("177,65,-177,70") == (177, 65, -177, 70)  # antimeridian


@pytest.mark.parametrize(
    "bad", ["1,2,3", "a,b,c,d", "1,2,3,4,5", "nan,1,2,3", "1,80,2,70", "0,-91,1,0", "200,0,1,1", ""]
)
def test_malformed_bbox_is_invalid(bad):
    with pytest.raises(InvalidParameter, match="bbox"):
        parse_bbox(bad)


def test_datetime_instants_intervals_and_open_ends():
    assert parse_datetime("2024-05-01T10:00:00Z").start == utc(2024, 5, 1, 10)
    interval = parse_datetime("2024-01-01T00:00:00Z/..")
    assert interval.start == utc(2024, 1, 1) and interval.end is None
    assert parse_datetime("../2024-01-01T00:00:00Z").start is None
    assert parse_datetime("/2024-01-01T00:00:00+02:00").end == utc(2023, 12, 31, 22)


def test_datetime_dates_cover_whole_days_including_gdal_trailing_t():
    interval = parse_datetime("2024-01-02T/2024-01-03T")
    assert interval.start == utc(2024, 1, 2)
    assert interval.end.date().isoformat() == "2024-01-03" and interval.end.hour == 23
    day = parse_datetime("2024-01-02")
    assert day.start == utc(2024, 1, 2) and day.end.day == 2


def test_datetime_with_durations_as_cite_sends_them():
    assert parse_datetime("2024-01-30/P2D").end.date().isoformat() == "2024-02-01"
    assert parse_datetime("P1M/2024-03-31T00:00:00Z").start == utc(2024, 2, 29)


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "2024-13-01",
        "2024-01-02/2024-01-01",
        "../..x",
        "a/b/c",
        "P1D/P2D",
        "..",
        "",
        "2023-02-29",  # not a leap year
        "2100-02-29",
        "2024-04-31",
        "2024-01-01 10:00:00",  # RFC 3339 wants T
        " 2024-01-01",
        "٢٠٢٤-01-01",  # digits of another script
        "2024-01-01T10:00:60Z",
        "P1D/..",
    ],
)
def test_malformed_datetime_is_invalid(bad):
    with pytest.raises(InvalidParameter, match="datetime"):
        parse_datetime(bad)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.from_regex(DATETIME_PATTERN, fullmatch=True))
def test_every_value_the_published_datetime_pattern_allows_is_parsed(value: str):
    # The OpenAPI document publishes DATETIME_PATTERN: whatever it allows, the parser takes,
    # save an interval that ends before it starts (a rule a pattern cannot state).
    try:
        parse_datetime(value)
    except InvalidParameter as e:
        assert "ends before it starts" in str(e)


def test_datetime_beyond_the_calendar_is_an_open_end():
    assert parse_datetime("9999-12-31T23:00:00-05:00/P1D").end == LATEST
    assert parse_datetime("P99999999999Y/2024-01-01").start == EARLIEST
    assert parse_datetime("0001-01-01T00:00:00+01:00").start == EARLIEST


def test_properties_name_at_least_one():
    assert parse_properties("a, b", ["a", "b"]) == ["a", "b"]
    with pytest.raises(InvalidParameter, match="at least one"):
        parse_properties(",", ["a"])


def test_unknown_and_repeated_parameters_are_rejected():
    assert single_values(QueryParams("limit=1&f=json"), ("limit", "f")) == {
        "limit": "1",
        "f": "json",
    }
    with pytest.raises(UnknownParameter):
        single_values(QueryParams("unknownQueryParameter=1"), ("limit",))
    with pytest.raises(InvalidParameter, match="more than once"):
        single_values(QueryParams("limit=1&limit=2"), ("limit",))
