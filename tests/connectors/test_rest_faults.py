"""The `rest` connector when the API or its configuration is wrong: an error status with a
body, an answer not of the declared shape, a next link leaving the base, items of
unexpected types (left out or kept without the value, never a crash); configuration
mistakes named at start-up; and the pushdown's exactness rules, term by term."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from connectors.base import SourceQuery
from connectors.errors import SourceError
from connectors.filters import Call, Literal, Property
from connectors.rest import RestConnector
from connectors.rest.paging import next_link
from connectors.rest.request import Pushdown
from gateway.query.cql2 import parse
from tests.connectors.rest_apis import Apis, rest_apis  # noqa: F401 - fixture

LONLAT = {"lon": "lon", "lat": "lat"}


def connector(url: str, **options: Any) -> RestConnector:
    config = RestConnector.Config.model_validate({"url": url, **options})
    return RestConnector(config, base_dir=Path("."), name="test/rest")


async def read(c: RestConnector) -> tuple[list[dict[str, Any]], int | None]:
    try:
        await c.open()
        result = await c.query(SourceQuery(want_count=True))
        return [r async for r in result.records], result.number_matched
    finally:
        await c.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "options", "message"),
    [
        ("fail", {"items": "reports"}, "answered 500 .*database connection lost"),
        ("shape", {"items": "reports"}, "has no 'reports'"),
        ("not-array", {"items": "reports"}, "'reports' of the answer .* is not an array"),
        ("html", {}, "is not JSON"),
        (
            "foreign",
            {"items": "data", "paging": {"style": "next_link", "next_path": "meta.links.next"}},
            "next link http://evil.example/steal\\?page=2 leaves its base",
        ),
        (
            "foreign",
            {"items": "data", "paging": {"style": "link_header"}},
            "next link http://evil.example/x leaves its base",
        ),
    ],
    ids=["500", "no-items", "items-not-array", "not-json", "next-body", "next-header"],
)
async def test_a_broken_answer_is_a_source_error_saying_what(
    rest_apis: Apis,  # noqa: F811
    path: str,
    options: dict[str, Any],
    message: str,
):
    c = connector(f"{rest_apis.hostile}/{path}", http={"retries": 0}, **options)
    with pytest.raises(SourceError, match=message):
        await read(c)


@pytest.mark.anyio
async def test_items_of_unexpected_types_never_crash_a_page(rest_apis: Apis):  # noqa: F811
    c = connector(
        f"{rest_apis.hostile}/odd",
        items="items",
        total="total",
        geometry=LONLAT,
        paging={"style": "none"},
    )
    reported: list[tuple[str, str, str]] = []
    c.quality_sink = lambda *args: reported.append(args)  # type: ignore[method-assign]
    found, matched = await read(c)
    assert [r["id"] for r in found] == [1, 2, 3]  # no object, no id, an object as id: left out
    assert found[0]["geometry"] == {"type": "Point", "coordinates": [9.99, 53.55]}
    assert found[1]["geometry"] is None and found[2]["geometry"] is None
    assert found[2]["properties"]["name"] == ["a", "list"]
    assert matched is None  # a total that is not a number is no count
    assert c.shape.skipped >= 3
    assert set(reported) == {
        ("test/rest", "(item)", "not an object"),
        ("test/rest", "id", "no usable id"),
        ("test/rest", "lon,lat", "not a geometry"),
    }
    assert len(reported) == 2 * 5  # per read (the sample and the query): 1 + 2 + 2


@pytest.mark.anyio
async def test_the_auth_header_comes_from_the_configuration(rest_apis: Apis):  # noqa: F811
    url = f"{rest_apis.hostile}/private/reports"
    options = {"geometry": LONLAT, "paging": {"style": "none"}, "http": {"retries": 0}}
    with pytest.raises(SourceError, match="answered 401"):
        await read(connector(url, **options))
    options["http"]["headers"] = {"Authorization": "Bearer s3cret"}  # ${VAR} in the YAML
    found, _ = await read(connector(url, **options))
    assert [r["id"] for r in found] == ["a"]


@pytest.mark.anyio
async def test_config_check_names_paths_the_first_page_lacks(rest_apis: Apis):  # noqa: F811
    async def problems(**options: Any) -> str:
        c = connector(f"{rest_apis.barriers}/reports", items="reports", **options)
        await c.open()
        try:
            return " | ".join(await c.problems())
        finally:
            await c.close()

    assert "no item of the first page has an id at 'report_id'" in await problems(id="report_id")
    found = await problems(
        geometry={"lon": "lon", "lat": "lat"}, pushdown={"bezirk": {"param": "district"}}
    )
    assert "have no 'bezirk'" in found
    assert "no record of the first page has a usable location at lon, lat" in found
    assert await problems(geometry={"lon": "location.lon", "lat": "location.lat"}) == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"paging": {"style": "cursor"}}, "needs `cursor_path`"),
        ({"paging": {"style": "next_link"}}, "needs `next_path`"),
        ({"url": "http://api.example/{city}/reports"}, "names {city}, which `parameters` lacks"),
        ({"item_url": "http://api.example/reports"}, "must hold {id}"),
        ({"items": "data..rows"}, "a name is missing"),
        ({"geometry": {"lon": "x"}}, "both `lon` and `lat`"),
        ({"geometry": {"wkt": "w", "geojson": "g"}}, "one of `geojson`"),
        ({"geometry": {"wkt": "w", "crs": "EPSG:999999"}}, "unknown CRS"),
        ({"pushdown": {"district": {"param": "limit"}}}, "limit used twice"),
        ({"pushdown": {"a": {"param": "x", "op": "like"}}}, "'eq', 'in', 'gte' or 'lte'"),
        ({"bbox_param": ["w", "s", "e"]}, "names four parameters"),
        ({"base": "http://api.example/v2"}, "`url` is not below `base`"),
        ({"item_url": "http://other.example/reports/{id}"}, "`item_url` is not below"),
    ],
)
def test_configuration_mistakes_are_named(options: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=message):
        RestConnector.Config.model_validate({"url": "http://api.example/reports", **options})


def test_templates_take_configured_parameters_only():
    c = connector(
        "http://api.example/v1/{city}/reports?format=json",
        parameters={"city": "hamburg/altona"},
        item_url="http://api.example/v1/{city}/reports/{id}",
    )
    assert c.list_url == "http://api.example/v1/hamburg%2Faltona/reports?format=json"
    assert c.endpoint.base == "http://api.example/v1/hamburg%2Faltona"


def test_the_default_base_is_the_urls_folder_never_less_than_its_host():
    assert connector("http://api.example/v1/reports").endpoint.base == "http://api.example/v1"
    bare = connector("http://api.example")
    assert bare.endpoint.base == "http://api.example"
    assert not bare.endpoint.owns("http://api.example.evil/x")
    assert not bare.endpoint.owns("http://other.example/")


def test_link_headers_are_read_as_rfc_8288_says():
    assert next_link(['<http://a/p?page=2>; rel="next"']) == "http://a/p?page=2"
    assert next_link(['<http://a/1>; rel="prev", <http://a/3>; rel="next last"']) == "http://a/3"
    assert next_link(["<http://a/3>; title=x; REL=next"]) == "http://a/3"
    assert next_link(['<http://a/1>; rel="prev"']) is None
    assert next_link([]) is None


# --- pushdown: exact or not at all --------------------------------------------------------

TYPES = {
    "district": "string",
    "severity": "integer",
    "score": "number",
    "open": "boolean",
    "day": "date",
    "at": "datetime",
    "votes": "integer",
}
RULES = {
    "district": {"param": "district", "op": "in"},
    "severity": [{"param": "min", "op": "gte"}, {"param": "max", "op": "lte"}],
    "score": {"param": "score", "op": "eq"},
    "open": {"param": "open", "op": "eq"},
    "day": [{"param": "from", "op": "gte"}, {"param": "to", "op": "lte"}],
    "at": {"param": "since", "op": "gte"},
}


@pytest.fixture(scope="module")
def push() -> Pushdown:
    config = RestConnector.Config.model_validate({"url": "http://a/r", "pushdown": RULES})
    return Pushdown(config, TYPES)  # type: ignore[arg-type]


def _eq(name: str, value: Any) -> Call:
    return Call("=", (Property(name), Literal(value)))


@pytest.mark.parametrize(
    ("expr", "params"),
    [
        (_eq("district", "Altona"), {"district": "Altona"}),
        (Call("=", (Literal("Altona"), Property("district"))), {"district": "Altona"}),
        (parse("district IN ('Altona', 'Wandsbek')"), {"district": "Altona,Wandsbek"}),
        (parse("severity > 1"), {"min": "2"}),
        (parse("severity < 3 AND severity >= 2"), {"min": "2", "max": "2"}),
        (parse("severity BETWEEN 1.5 AND 2.5"), {"min": "2", "max": "2"}),
        (parse("1 <= severity"), {"min": "1"}),
        (_eq("score", 2.0), {"score": "2"}),
        (_eq("open", True), {"open": "true"}),
        (parse("day >= DATE('2024-03-01')"), {"from": "2024-03-01"}),
        (
            Call(">=", (Property("at"), Literal(datetime(2024, 3, 1, tzinfo=UTC)))),
            {"since": "2024-03-01T00:00:00Z"},
        ),
        (parse("district IN ('A', 'B') AND district = 'B'"), {"district": "B"}),
    ],
)
def test_pushed_terms_become_the_declared_parameters(push: Pushdown, expr: Any, params: dict):
    from connectors.filters import conjuncts

    assert all(push.accepts(term) for term in conjuncts(expr))
    assert push.params(expr) == params


@pytest.mark.parametrize(
    "expr",
    [
        _eq("district", ""),  # an empty parameter often means "no filter"
        parse("district IN ('Altona', 'a,b')"),  # a comma inside a list item
        parse("district <> 'Altona'"),
        parse("district LIKE 'A%'"),
        parse("score > 2"),  # strict bounds are exact only on integers
        _eq("severity", 2.5),  # no integer equals it
        _eq("severity", "2"),  # a text for an integer field
        _eq("votes", 3),  # no parameter declared
        _eq("day", datetime(2024, 3, 1, tzinfo=UTC)),  # an instant for a date field
        Call("=", (Property("day"), Literal(date(2024, 3, 1)))),  # eq on a range-only field
        parse("district = 'A' OR district = 'B'"),
        parse("NOT (district = 'A')"),
        parse("district IS NULL"),
    ],
)
def test_terms_the_api_cannot_answer_exactly_stay_residual(push: Pushdown, expr: Any):
    assert not push.accepts(expr)


@pytest.mark.parametrize(
    "text",
    [
        "district = 'A' AND district = 'B'",
        "severity >= 3 AND severity <= 2",
        "district IN ('A', 'B') AND district = 'C'",
    ],
)
def test_contradicting_terms_select_nothing_without_asking(push: Pushdown, text: str):
    assert push.params(parse(text)) is None
    assert push.accepts(Literal(False)) and push.params(Literal(False)) is None


def test_the_readme_example_is_a_valid_configuration(monkeypatch: pytest.MonkeyPatch):
    from gateway.config import parse_config

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```yaml\n")[1:]]
    (block,) = [b for b in blocks if "connector: rest" in b]
    monkeypatch.setenv("BARRIER_API_TOKEN", "secret")
    loaded = parse_config(yaml.safe_load(block), "README.md", Path("."))
    source = loaded.config.tenants["hamburg"].collections["barrieren"].source
    config = RestConnector.Config.model_validate(source.options())
    assert config.http.headers["Authorization"] == "Bearer secret"
