"""The test broker's NGSI-LD q grammar (ETSI GS CIM 009 4.9): precedence, operators, lists,
ranges, attribute paths, quoting, types that never coerce, and syntax errors."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.demo.ngsibroker.ldquery import (
    Attr,
    Logic,
    QueryError,
    Range,
    Term,
    Uri,
    matches,
    parse,
)

ENTITY = {
    "id": "urn:ngsi-ld:AirQualityObserved:1",
    "type": "AirQualityObserved",
    "NO2": {
        "type": "Property",
        "value": 22.5,
        "unitCode": "GQ",
        "observedAt": "2026-12-01T10:00:00Z",
        "quality": {"type": "Property", "value": "validated"},
    },
    "PM10": {"type": "Property", "value": 40},
    "name": {"type": "Property", "value": 'Centrum "Noord"; Rotterdam'},
    "status": {"type": "Property", "value": ["open", "monitoring"]},
    "address": {
        "type": "Property",
        "value": {"streetAddress": "Coolsingel 5", "postal": {"code": "3011"}},
    },
    "active": {"type": "Property", "value": True},
    "dateObserved": {"type": "Property", "value": "2026-12-01T10:00:00Z"},
    "day": {"type": "Property", "value": "2026-12-01"},
    "count": {"type": "Property", "value": "20"},
    "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:7"},
}


def hit(q: str) -> bool:
    return matches(parse(q), ENTITY, str)


def test_and_binds_tighter_than_or_and_parentheses_group():
    assert parse("a==1;b==2|c==3") == Logic(
        "or",
        (
            Logic("and", (Term(Attr("a"), "==", 1), Term(Attr("b"), "==", 2))),
            Term(Attr("c"), "==", 3),
        ),
    )
    assert hit("PM10==1;NO2>20|PM10==40")
    assert not hit("PM10==1;(NO2>20|PM10==40)")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("NO2==22.5", True),
        ("NO2!=22.5", False),
        ("NO2>22.5", False),
        ("NO2>=22.5", True),
        ("NO2<23", True),
        ("NO2<=22", False),
        ("PM10==40", True),
        ("PM10==40.0", True),
        ("PM10==30,40,50", True),
        ("PM10!=30,50", True),
        ("PM10!=30,40", False),
        ("PM10==30..40", True),
        ("PM10==41..50", False),
        ("NO2==20..22.5", True),
        ('status=="open"', True),
        ('status=="closed","monitoring"', True),
        ("active==true", True),
        ("active==false", False),
        ('name=="Centrum \\"Noord\\"; Rotterdam"', True),
        ('name~="Noord"', True),
        ('name~="^Noord"', False),
        ('name!~="Zuid"', True),
        ("refDevice==urn:ngsi-ld:Device:7", True),
        ("refDevice==urn:ngsi-ld:Device:8", False),
        ("dateObserved>2026-11-30T00:00:00Z", True),
        ("dateObserved<2026-12-01T09:00:00Z", False),
        ("day==2026-12-01", True),
        ('dateObserved=="2026-12-01T10:00:00Z"', True),
    ],
)
def test_operators_as_the_specification_states(q: str, expected: bool):
    assert hit(q) is expected


def test_values_never_coerce_across_types():
    assert not hit("count==20")  # "20" is a string
    assert hit('count=="20"')
    assert not hit('PM10=="40"')
    assert not hit("name>5")
    assert not hit("active==1")


def test_not_equal_needs_the_attribute():
    assert not hit("missing!=1")
    assert hit("!missing")
    assert not hit("!NO2")
    assert hit("NO2")


def test_paths_sub_properties_metadata_and_compound_values():
    assert hit('NO2.unitCode=="GQ"')
    assert hit("NO2.observedAt>=2026-12-01T10:00:00Z")
    assert hit('NO2.quality=="validated"')
    assert hit('address[streetAddress]=="Coolsingel 5"')
    assert hit('address[postal.code]=="3011"')
    assert not hit('address[postal.code]=="3012"')
    assert hit("address[postal.code]")
    assert not hit("address[nothing]")


def test_literals_parse_to_their_types():
    assert parse("a==1").value == 1
    assert parse("a==-1.5e2").value == -150.0
    assert parse("a==2026-12-01").value == date(2026, 12, 1)
    assert parse("a==2026-12-01T10:00:00Z").value == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert parse("a==urn:x:1").value == Uri("urn:x:1")
    assert parse("a==1..5").value == Range(1, 5)
    assert parse('a=="x;y|z)"').value == "x;y|z)"


@pytest.mark.parametrize(
    "q",
    [
        "",
        "a==",
        "a=='single'",
        "a==word",
        'a=="open',
        "(a==1",
        "a==1)",
        "a>1,2",
        "a<1..3",
        "a~=(",
        "a[b",
        "a..b==1",
        "a===1",
        ";a==1",
    ],
)
def test_malformed_queries_are_refused(q: str):
    with pytest.raises(QueryError):
        parse(q)


def test_expanded_names_are_looked_up_through_the_context():
    stored = {
        "id": "urn:x:1",
        "type": "T",
        "https://example.org/NO2": {"type": "Property", "value": 3},
    }
    assert matches(parse("NO2==3"), stored, lambda n: f"https://example.org/{n}")
    assert not matches(parse("NO2==3"), stored, str)
