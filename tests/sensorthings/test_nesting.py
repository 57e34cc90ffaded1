"""How deep a SensorThings request may nest: `$expand` (default 10 levels) and `$filter` /
`$orderby` expressions (default 64), each a setting of `server.sensorthings`, answered
with a 400 naming the limit. At the ceilings the settings allow, every walk over the tree
(parser, binder, SQL compiler for both dialects, renderer, the federated id rewrite) stays
far below Python's recursion limit; nothing a client sends can reach it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from gateway.errors import InvalidParameter
from gateway.sensorthings.federated import rewrite_ids
from gateway.sensorthings.model import BY_NAME
from gateway.sensorthings.odata import bind, render
from gateway.sensorthings.odata.ast import Node, deepest
from gateway.sensorthings.odata.expr import parse_filter, parse_orderby
from gateway.sensorthings.odata.limits import CEILINGS, MAX_ORDERBY_ITEMS, Limits
from gateway.sensorthings.odata.options import parse_options
from gateway.sensorthings.store.compile import Compiler
from gateway.sensorthings.store.dialect import POSTGRES, SQLITE, Sql
from tests.sensorthings.conftest import STA, populate_ets

THING = BY_NAME["Thing"]
# Frames any walk may use at the ceilings; the rest of Python's 1000 is the server's.
HEADROOM = 600


def _frames() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


@contextmanager
def recursion_headroom(frames: int = HEADROOM) -> Iterator[None]:
    """Run with only `frames` frames left before RecursionError."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_frames() + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# Each construct nests n levels in its own way; `largest` finds the n the parser accepts.
CONSTRUCTS: dict[str, Callable[[int], str]] = {
    "not": lambda n: "not " * n + "id eq 1",
    "parentheses": lambda n: "(" * n + "id eq 1" + ")" * n,
    "negation": lambda n: "id eq " + "-(" * n + "1" + ")" * n,
    "left chain": lambda n: "id eq 1" + " add 1" * n,
    "right nesting": lambda n: "id eq " + "1 add (" * n + "1" + ")" * n,
    "calls": lambda n: "tolower(" * n + "name" + ")" * n + " eq 'x'",
    "lambdas": lambda n: (
        "".join(f"Datastreams/any(d{i}: d{i}/Thing/" for i in range(n)) + "name eq 'x'" + ")" * n
    ),
    "path": lambda n: "Datastreams/Thing/" * n + "name eq 'x'",
    "alternating and/or": lambda n: "(id eq 1 or (id eq 2 and " * n + "id eq 3" + "))" * n,
}


def largest(make: Callable[[int], str], limits: Limits) -> int:
    low, high = 0, 2 * limits.expression_depth + 2
    while low < high:  # the largest n that parses
        mid = (low + high + 1) // 2
        try:
            parse_filter(make(mid), "$filter", limits)
        except InvalidParameter:
            high = mid - 1
        else:
            low = mid
    return low


def walk_everything(tree: Node) -> None:
    """Every recursive walk the gateway makes over a filter."""
    bind.check_expr(THING, tree, "$filter")
    for dialect in (SQLITE, POSTGRES):
        with suppress(InvalidParameter):  # e.g. a type error found while compiling: a 400
            Compiler(Sql(dialect), THING, "t").boolean(tree)
    assert render.expr(parse_filter(render.expr(tree))) == render.expr(tree)
    with suppress(InvalidParameter):  # `id eq 1` is no federated id: a 400 after the walk
        rewrite_ids(tree, "t")


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_at_the_ceiling_every_walk_stays_far_from_the_recursion_limit(name: str):
    make = CONSTRUCTS[name]
    n = largest(make, CEILINGS)
    assert n > 0
    with recursion_headroom():
        tree = parse_filter(make(n), "$filter", CEILINGS)
        walk_everything(tree)
        with pytest.raises(InvalidParameter, match="nested more than 100 levels"):
            parse_filter(make(n + 1), "$filter", CEILINGS)
        with pytest.raises(InvalidParameter, match="nested more than 100 levels"):
            parse_filter(make(5000), "$filter", CEILINGS)


def test_long_runs_of_and_or_are_shallow_trees_and_render_flat():
    text = " or ".join(f"id eq {i}" for i in range(10000))
    with recursion_headroom():
        tree = parse_filter(text)
        assert deepest(tree, 18) is None  # log2(10000) + 2 levels
        walk_everything(tree)
    assert render.expr(tree) == text
    nested = parse_filter("id eq 1 or (id eq 2 or (id eq 3 or id eq 4))")
    assert render.expr(nested) == "id eq 1 or id eq 2 or id eq 3 or id eq 4"


def test_orderby_has_at_most_so_many_sort_keys():
    keys = ",".join(["name"] * MAX_ORDERBY_ITEMS)
    assert len(parse_orderby(keys)) == MAX_ORDERBY_ITEMS
    with pytest.raises(InvalidParameter, match=f"more than {MAX_ORDERBY_ITEMS} sort keys"):
        parse_orderby(keys + ",name")


def _nested_expand(n: int) -> str:
    relations = ["Datastreams", "Thing"] * n
    return "($expand=".join(relations[:n]) + ")" * (n - 1)


def test_expand_depth_counts_slash_paths_and_nested_options_alike():
    limits = Limits(expand_depth=10)
    for text in ("/".join(["Datastreams", "Thing"] * 5), _nested_expand(10)):
        parse_options([("$expand", text)], limits)
    mixed = "Datastreams/Thing($expand=Datastreams/Thing($expand=Locations))"
    parse_options([("$expand", mixed)], Limits(expand_depth=5))
    for text in ("/".join(["Datastreams", "Thing"] * 6)[: -len("/Thing")], _nested_expand(11)):
        with pytest.raises(InvalidParameter, match="nested more than 10 levels"):
            parse_options([("$expand", text)], limits)
    with pytest.raises(InvalidParameter, match="max_expand_depth"):
        parse_options([("$expand", mixed)], Limits(expand_depth=4))


def test_a_200_deep_expand_is_a_400_not_a_recursion_error():
    with recursion_headroom():
        for text in (_nested_expand(200), "/".join(["Datastreams", "Thing"] * 100)):
            with pytest.raises(InvalidParameter, match="max_expand_depth"):
                parse_options([("$expand", text)])


def test_nul_characters_in_expressions_are_a_400():
    for text in ("name eq 'a\x00b'", "properties/x eq 'a\x00'", "name\x00 eq 'a'"):
        with pytest.raises(InvalidParameter, match="NUL characters are not allowed"):
            parse_filter(text)


# --- through the facade, on both stores -------------------------------------------------


@pytest.fixture(scope="module")
def ets_client(ets: tuple[TestClient, dict]) -> TestClient:
    return ets[0]


def _error(response, fragment: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "error" and body["code"] == 400
    assert fragment in body["message"]


def test_expand_depth_limit_through_the_facade(ets_client: TestClient):
    ten = "/".join(["Datastreams", "Thing"] * 5)
    response = ets_client.get(f"{STA}/Things?$expand={ten}")
    assert response.status_code == 200, response.text
    assert response.json()["value"][0]["Datastreams"][0]["Thing"]["Datastreams"]
    _error(ets_client.get(f"{STA}/Things?$expand={ten}/Datastreams"), "max_expand_depth")
    _error(ets_client.get(f"{STA}/Things?$expand={_nested_expand(200)}"), "10 levels")


def test_filter_depth_limit_through_the_facade(ets_client: TestClient):
    limits = Limits(expression_depth=64)
    for name, make in CONSTRUCTS.items():
        n = largest(make, limits)
        ok = ets_client.get(f"{STA}/Things", params={"$filter": make(n)})
        # Long paths hit the join limit first, and SQLite's parser stack is shorter than
        # some of these: then a 400 saying so, never a 500.
        assert ok.status_code in (200, 400), (name, ok.text)
        if ok.status_code == 400:
            message = ok.json()["message"]
            assert "too complex for this store" in message or "max_joins" in message, name
        too_deep = ets_client.get(f"{STA}/Things", params={"$filter": make(n + 1)})
        _error(too_deep, "nested more than 64 levels deep")


@pytest.mark.parametrize("text", ["(" * 5000 + "id eq 1" + ")" * 5000, "not " * 5000 + "id eq 1"])
def test_thousands_of_levels_are_a_400(ets_client: TestClient, text: str):
    _error(ets_client.get(f"{STA}/Things", params={"$filter": text}), "max_expression_depth")


def test_long_or_runs_and_in_lists_answer_like_in(ets_client: TestClient):
    ids = [t["@iot.id"] for t in ets_client.get(f"{STA}/Observations").json()["value"]]
    many = list(range(100000, 102000)) + ids[:3]
    chain = " or ".join(f"id eq {i}" for i in many)
    listed = f"id in ({','.join(map(str, many))})"
    for text in (chain, listed):
        response = ets_client.get(f"{STA}/Observations", params={"$filter": text})
        assert response.status_code == 200, response.text[:300]
        assert sorted(o["@iot.id"] for o in response.json()["value"]) == sorted(ids[:3])


def test_nul_in_a_filter_literal_is_a_400_on_every_store(ets_client: TestClient):
    for url in (
        f"{STA}/Things?$filter=name eq 'a%00b'",
        f"{STA}/Things?$filter=properties/reference eq '%00'",
        f"{STA}/Things?$expand=Datastreams($filter=name eq 'a%00')",
    ):
        _error(ets_client.get(url), "NUL characters are not allowed")


def test_configured_limits_apply(make_client: Callable[..., TestClient]):
    client = make_client(server={"sensorthings": {"max_expand_depth": 3}})
    populate_ets(client)  # Thing -> Datastream -> Sensor: 3 levels of deep insert
    assert client.get(f"{STA}/Things?$expand=Datastreams/Thing/Locations").status_code == 200
    _error(client.get(f"{STA}/Things?$expand=Datastreams/Thing/Datastreams/Thing"), "3 levels")
    client = make_client(server={"sensorthings": {"max_expression_depth": 8, "max_joins": 1}})
    n = largest(CONSTRUCTS["parentheses"], Limits(expression_depth=8))
    filters = [CONSTRUCTS["parentheses"](n), CONSTRUCTS["parentheses"](n + 1)]
    assert client.get(f"{STA}/Things", params={"$filter": filters[0]}).status_code == 200
    _error(client.get(f"{STA}/Things", params={"$filter": filters[1]}), "8 levels deep")
    one = {"$filter": "Datastreams/name eq 'x'"}
    assert client.get(f"{STA}/Things", params=one).status_code == 200
    two = {"$filter": "Datastreams/Thing/name eq 'x'"}
    _error(client.get(f"{STA}/Things", params=two), "more than 1 (limit")


def test_relations_walked_by_one_level_are_limited(ets_client: TestClient):
    """Each relation is a join; PostgreSQL took seconds to plan a few dozen of them."""
    ten = " and ".join(["Datastreams/any(d: d/Thing/name ne 'x')"] * 5)
    response = ets_client.get(f"{STA}/Things", params={"$filter": ten})
    assert response.status_code == 200, response.text
    assert len(response.json()["value"]) == 2
    eleven = ten + " and Locations/name ne 'x'"
    _error(ets_client.get(f"{STA}/Things", params={"$filter": eleven}), "walk 11 relations")
    orderby = {"$filter": "Datastream/Thing/name ne 'x'", "$orderby": "Datastream/Thing/name"}
    assert ets_client.get(f"{STA}/Observations", params=orderby).status_code == 200
    twelve = {**orderby, "$filter": " or ".join(["Datastream/Thing/name eq 'x'"] * 4)}
    twelve["$orderby"] += ",Datastream/Sensor/name"
    _error(ets_client.get(f"{STA}/Observations", params=twelve), "walk 12 relations")
    # each expanded level is its own statement with its own budget
    nested = {"$filter": ten, "$expand": f"Datastreams/Thing($filter={ten})"}
    assert ets_client.get(f"{STA}/Things", params=nested).status_code == 200


def test_settings_cannot_exceed_the_ceilings():
    from pydantic import ValidationError

    from gateway.sensorthings.config import StaServerSettings

    StaServerSettings(max_expand_depth=32, max_expression_depth=100)
    for bad in ({"max_expand_depth": 33}, {"max_expression_depth": 101}):
        with pytest.raises(ValidationError):
            StaServerSettings(**bad)


# Random mixtures of every construct: the parser, the compiler and the store answer 200
# or a 400, whatever the nesting.
_LEAVES = st.sampled_from(
    [
        "id eq 1",
        "name eq 'thing 1'",
        "properties/reference eq 'first'",
        "Datastreams/Thing/name eq 'x'",
        "Datastreams/any(d: d/name eq 'datastream 1')",
        "length(tolower(name)) gt 3",
        "true",
    ]
)


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    return st.one_of(
        pair.map(lambda p: f"({p[0]}) and ({p[1]})"),
        pair.map(lambda p: f"{p[0]} or {p[1]}"),
        children.map(lambda c: f"not ({c})"),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"Datastreams/any(d: d/Thing/Datastreams/all(e: {c}))"),
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.recursive(_LEAVES, _grow, max_leaves=120))
def test_random_nesting_is_answered_200_or_400(ets_client: TestClient, text: str):
    response = ets_client.get(f"{STA}/Things", params={"$filter": text})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        message = response.json()["message"]
        assert any(s in message for s in ("nested more than", "too complex", "max_joins"))
