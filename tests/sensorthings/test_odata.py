"""The OData parser alone: the tree it builds, positions in its errors, the options tree,
and rendering back to text (which must parse to the same tree)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import InvalidParameter
from gateway.sensorthings.odata import render
from gateway.sensorthings.odata.ast import Binary, Call, In, Lambda, Literal, Path, Unary
from gateway.sensorthings.odata.expr import parse_filter, parse_orderby
from gateway.sensorthings.odata.lexer import ODataSyntaxError
from gateway.sensorthings.odata.options import parse_options
from gateway.sensorthings.paths import parse_path


def test_precedence_or_and_not_comparison_arithmetic():
    tree = parse_filter("a eq 1 or b eq 2 and not c lt 3 add 4 mul 5")
    assert isinstance(tree, Binary) and tree.op == "or"
    right = tree.right
    assert isinstance(right, Binary) and right.op == "and"
    negated = right.right
    assert isinstance(negated, Unary) and negated.op == "not"
    compare = negated.operand
    assert isinstance(compare, Binary) and compare.op == "lt"
    assert isinstance(compare.right, Binary) and compare.right.op == "add"
    assert isinstance(compare.right.right, Binary) and compare.right.right.op == "mul"


def test_literals_of_every_kind():
    tree = parse_filter(
        "a eq 'it''s' and b eq -2.5e3 and c eq true and d eq null"
        " and e eq 2015-03-01T00:00:00.104Z and f eq 2015-03-01 and g eq 12:30:00"
        " and h eq duration'P1DT2H' and i eq geography'POINT (1 2)'"
        " and j eq 2015-03-01T00:00:00Z/2015-03-02T00:00:00+01:00"
    )
    literals = []

    def collect(node):
        if isinstance(node, Binary):
            collect(node.left)
            collect(node.right)
        elif isinstance(node, Literal):
            literals.append((node.kind, node.value))

    collect(tree)
    kinds = dict(literals)
    assert kinds["string"] == "it's"
    assert kinds["number"] == -2500.0
    assert kinds["bool"] is True and kinds["null"] is None
    assert kinds["datetime"] == datetime(2015, 3, 1, 0, 0, 0, 104000, tzinfo=UTC)
    assert kinds["duration"] == timedelta(days=1, hours=2)
    assert kinds["geometry"] == "POINT (1 2)"
    start, end = kinds["interval"]
    assert end - start == timedelta(hours=23)


def test_functions_lambdas_in_and_paths():
    tree = parse_filter(
        "Datastreams/any(d: d/ObservedProperty/name eq 'NO2') and properties/x in ('a', 'b')"
    )
    assert isinstance(tree, Binary)
    assert isinstance(tree.left, Lambda) and tree.left.var == "d" and tree.left.op == "any"
    assert isinstance(tree.right, In) and isinstance(tree.right.operand, Path)
    assert tree.right.operand.segments == ("properties", "x")
    call = parse_filter("st_relate(location, geography'POINT (1 2)', 'T********')")
    assert isinstance(call, Call) and len(call.args) == 3
    assert isinstance(parse_filter("now()"), Call)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("name eq", 8, "expected a value"),
        ("name eq 'x", 9, "unexpected character"),
        ("name eq 1 2", 11, "unexpected '2'"),
        ("foo(1)", 1, "unknown function 'foo'"),
        ("length(name, 2) eq 1", 1, "takes 1 argument"),
        ("(name eq 1", 11, "expected ')'"),
        ("name eq duration'P'", 9, "not an ISO 8601 duration"),
        ("name eq 2015-13-45T00:00:00Z", 9, "not a valid datetime"),
        ("eq 1", 1, "needs a value before it"),
        ("name # 1", 6, "unexpected character"),
    ],
)
def test_syntax_errors_name_their_position(text, position, fragment):
    with pytest.raises(ODataSyntaxError) as info:
        parse_filter(text)
    assert info.value.pos == position
    assert fragment in info.value.description and f"position {position}" in info.value.description


def test_orderby_items_and_directions():
    items = parse_orderby("phenomenonTime desc, result, Datastream/name asc")
    assert [(render.expr(e), d) for e, d in items] == [
        ("phenomenonTime", True),
        ("result", False),
        ("Datastream/name", False),
    ]


def test_options_tree_with_nested_expands_merged_and_slash_syntax():
    opts = parse_options(
        [
            ("$expand", "Datastreams($select=id;$top=2),Datastreams/Sensor,Locations"),
            ("$top", "5"),
            ("$skip", "1"),
            ("$count", "true"),
            ("$select", "id,properties/a"),
            ("custom", "ignored"),
        ]
    )
    assert (opts.top, opts.skip, opts.count) == (5, 1, True)
    assert opts.select == (("id",), ("properties", "a"))
    [datastreams, locations] = opts.expand
    assert datastreams.rel == "Datastreams" and locations.rel == "Locations"
    assert datastreams.options.top == 2 and datastreams.options.select == (("id",),)
    assert [e.rel for e in datastreams.options.expand] == ["Sensor"]


@pytest.mark.parametrize(
    "params",
    [
        [("$top", "-1")],
        [("$skip", "1.5")],
        [("$count", "yes")],
        [("$orderby", "name,")],
        [("$expand", "Datastreams($nope=1)")],
        [("$expand", "Datastreams($top=1;$top=2)")],
        [("$select", "distinct:name")],
        [("$filter", "")],
        [("$foo", "1")],
    ],
)
def test_invalid_options(params):
    with pytest.raises(InvalidParameter):
        parse_options(params)


@pytest.mark.parametrize(
    "text",
    [
        "result eq 2 and result eq 1 or result eq 1",
        "not (result lt 1 or result gt 1)",
        "1 sub (2 sub result) eq 0",
        "-(result add 1) lt 0",
        "(a eq 1 or b eq 2) and c eq 3",
        "x in ('a', 'b') eq true",
        "Datastreams/any(d: d/name eq 'x' and d/id gt 1)",
        "phenomenonTime gt now() sub duration'PT1H'",
        "st_within(location, geography'POLYGON ((0 0, 1 0, 1 1, 0 0))')",
    ],
)
def test_render_parses_back_to_the_same_tree(text):
    tree = parse_filter(text)
    assert _strip(parse_filter(render.expr(tree))) == _strip(tree)


def _strip(node):
    """The tree without positions (rendering moves things around)."""
    if isinstance(node, Literal):
        return ("lit", node.kind, node.value)
    if isinstance(node, Path):
        return ("path", node.segments)
    if isinstance(node, Unary):
        return ("un", node.op, _strip(node.operand))
    if isinstance(node, Binary):
        return ("bin", node.op, _strip(node.left), _strip(node.right))
    if isinstance(node, In):
        return ("in", _strip(node.operand), tuple(_strip(i) for i in node.items))
    if isinstance(node, Call):
        return ("call", node.name, tuple(_strip(a) for a in node.args))
    if isinstance(node, Lambda):
        return (
            "lambda",
            _strip(node.path),
            node.op,
            node.var,
            _strip(node.body) if node.body else None,
        )
    raise TypeError(node)


def test_options_render_round_trip():
    params = [
        ("$filter", "result gt '3'"),
        (
            "$expand",
            "Datastreams($select=id,name;"
            "$expand=Observations($orderby=phenomenonTime desc;$top=1;$count=true))",
        ),
        ("$orderby", "phenomenonTime asc"),
        ("$top", "1"),
        ("$skip", "2"),
        ("$count", "true"),
    ]
    first = parse_options(params)
    again = parse_options(list(render.options(first).items()))
    assert render.options(again) == render.options(first)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcdeqlgtno ()'/,:-0123456789.TZPD$@", max_size=40))
def test_the_parser_only_ever_answers_with_a_400(text):
    try:
        tree = parse_filter(text)
    except InvalidParameter:
        return
    assert _strip(parse_filter(render.expr(tree))) == _strip(tree)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("Things(1)/Datastreams(2)/Observations", "Things(1)/Datastreams(2)/Observations"),
        (
            "Datastreams(7)/Thing/Locations(3)/HistoricalLocations",
            "Datastreams(7)/Thing/Locations(3)/HistoricalLocations",
        ),
        ("Things('a''b')/name/$value", "Things('a''b')/name/$value"),
        ("Things(1)/Datastreams/$ref", "Things(1)/Datastreams/$ref"),
        # a federated id written bare, as Masterportal copies @iot.id into its URLs
        ("Datastreams(hamburg:7)/Observations", "Datastreams('hamburg:7')/Observations"),
    ],
)
def test_resource_paths_parse_and_print(path, text):
    assert parse_path(path).text() == text


@pytest.mark.parametrize(
    "path",
    [
        "Nope",
        "Things(1)/Nope",
        "Things/name",
        "Datastreams(1)/Thing(2)",
        "Things(1)/name/x",
        "Things/$ref/x",
    ],
)
def test_resource_paths_that_do_not_exist(path):
    from gateway.errors import NotFound

    with pytest.raises(NotFound):
        parse_path(path)
