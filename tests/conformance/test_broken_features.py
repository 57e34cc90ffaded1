"""Each Part 1 check shown able to fail: the demo gateway wrapped so that it breaks one
thing, and the suite must flag exactly the checks of the requirement that thing violates.

Checks already flagged on the unbroken demo (gateway bugs, reported elsewhere) are taken
out of the comparison, so a gateway bug does not hide or fake a result here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from conformance.timeutil import parse_rfc3339
from tests.conformance import breakers as B
from tests.conformance.conftest import LoopThread, explain, flagged, run_suite

PART1 = ["core/", "geojson/", "html/", "oas30/"]
ITEMS = r"/collections/[^/]+/items$"
ITEM = r"/collections/[^/]+/items/[^/]+$"


@pytest.fixture(scope="module")
def baseline(loop_thread: LoopThread, demo_app: Any) -> set[str]:
    return flagged(run_suite(loop_thread, demo_app, checks=PART1))


def _shift_numbers(doc: Any, scope: B.Scope) -> Any:
    if isinstance(doc.get("numberMatched"), int):
        doc["numberMatched"] += 5
    return doc


def _bad_returned(doc: Any, scope: B.Scope) -> Any:
    if "numberReturned" in doc:
        doc["numberReturned"] += 1
    return doc


def _first_page_projected(doc: Any, scope: B.Scope) -> Any:
    for f in doc.get("features", []):
        x, y = f["geometry"]["coordinates"][:2]
        f["geometry"]["coordinates"] = [x * 100_000, y * 100_000]
    return doc


def _prev_to_start(link: dict) -> None:
    link["href"] = re.sub(r"[?&]offset=\d+", "", link["href"])


def _bbox(params: dict[str, str]) -> list[float] | None:
    """The bbox when it is well-formed (malformed ones must still get their 400)."""
    try:
        numbers = [float(v) for v in params.get("bbox", "").split(",")]
    except ValueError:
        return None
    return numbers if len(numbers) == 4 else None


def _shrink_bbox(params: dict[str, str]) -> dict[str, str]:
    numbers = _bbox(params)
    if numbers:
        numbers[2] -= (numbers[2] - numbers[0]) / 10
        params["bbox"] = ",".join(map(repr, numbers))
    return params


def _ignore_bbox(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != "bbox" or _bbox(params) is None}


def _valid_datetime(value: str) -> bool:
    ends = value.split("/")
    return all(e in ("", "..") or parse_rfc3339(e) for e in ends) and len(ends) <= 2


def _ignore_datetime(params: dict[str, str]) -> dict[str, str]:
    ok = _valid_datetime(params.get("datetime", "x"))
    return {k: v for k, v in params.items() if k != "datetime" or not ok}


def _shift_datetime(params: dict[str, str]) -> dict[str, str]:
    value = params.get("datetime", "")
    if value.endswith("/..") and _valid_datetime(value):
        params["datetime"] = re.sub(r"^(\d{4})", lambda m: str(int(m[1]) + 1), value)
    return params


def _small_limit_ignored(params: dict[str, str]) -> dict[str, str]:
    if params.get("limit", "").isdigit() and int(params["limit"]) < 10:
        params.pop("limit")
    return params


def _api(mutate: Callable[[dict], None]) -> Callable[[Any, B.Scope], Any]:
    def change(doc: Any, scope: B.Scope) -> Any:
        mutate(doc)
        return doc

    return change


def _items_param(doc: dict, name: str) -> dict:
    return doc["components"]["parameters"][name]


def _drop_400(doc: dict) -> None:
    for path, item in doc["paths"].items():
        if path.endswith("/items"):
            item["get"]["responses"].pop("400", None)


def _entry_items_links(doc: Any, scope: B.Scope) -> Any:
    for c in doc.get("collections", []):
        c["links"] = [x for x in c["links"] if not (x["rel"] == "items" and "geo" in x["type"])]
    return doc


def _html_without_collections_link(body: bytes) -> bytes:
    return re.sub(rb'<a [^>]*href="[^"]*/collections"[^>]*>.*?</a>', b"", body, flags=re.S)


def _unknown_ignored(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if not k.startswith("unknownQueryParameter")}


def _invalid_limit_ignored(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if not (k == "limit" and not v.isdigit())}


def _in_html(app: Any, path: str, old: bytes, new: bytes) -> Any:
    """The same change in the HTML representation, so both stay consistent."""

    def html(scope: B.Scope) -> bool:
        return bool(re.search(path, scope["path"])) and b"html" in dict(scope["headers"]).get(
            b"accept", b""
        )

    return B.rewrite_body(app, html, lambda body: body.replace(old, new))


def _collection_title_number(doc: Any, scope: B.Scope) -> Any:
    for c in doc.get("collections", [doc]):
        c["title"] = 42
    return doc


def _retitle(doc: Any, scope: B.Scope) -> Any:
    doc["title"] = "Another title"
    return doc


def _json_accept(scope: B.Scope) -> bool:
    return b"html" not in dict(scope["headers"]).get(b"accept", b"")


def _on(pattern: str) -> B.Match:
    """Matching JSON (not HTML) requests to a path."""
    regex = re.compile(pattern)
    return lambda s: bool(regex.search(s["path"])) and _json_accept(s)


def _first_items_page(scope: B.Scope) -> bool:
    return (
        bool(re.search(ITEMS, scope["path"])) and not scope["query_string"] and _json_accept(scope)
    )


def _paged(scope: B.Scope) -> bool:
    """JSON items requests with an explicit limit (as paging clients send them)."""
    return (
        bool(re.search(ITEMS, scope["path"]))
        and "limit" in B.params_of(scope)
        and _json_accept(scope)
    )


def _feature_url(scope: B.Scope) -> bool:
    return bool(re.search(ITEM, scope["path"])) and _json_accept(scope)


def _with_offset_step(step: int) -> Callable[[Any, B.Scope], Any]:
    """Next links that step `step` items less than the page (pages overlap); no prev."""

    def mutate(doc: Any, scope: B.Scope) -> Any:
        doc["links"] = [x for x in B.links(doc) if x.get("rel") != "prev"]
        for x in B.links(doc):
            if x.get("rel") == "next":
                x["href"] = re.sub(
                    r"offset=(\d+)", lambda m: f"offset={int(m[1]) - step}", x["href"]
                )
        return doc

    return mutate


def _bigger_next_pages(doc: Any, scope: B.Scope) -> Any:
    """The first page's next link asks for 5 more items per page than the request did."""
    doc["links"] = [x for x in B.links(doc) if x.get("rel") != "prev"]
    if "offset" not in B.params_of(scope):
        for x in B.links(doc):
            if x.get("rel") == "next":
                x["href"] = re.sub(r"limit=(\d+)", lambda m: f"limit={int(m[1]) + 5}", x["href"])
    return doc


def _reject_large_limit(app: Any) -> Any:
    def too_large(scope: B.Scope) -> bool:
        limit = B.params_of(scope).get("limit", "")
        return bool(re.search(ITEMS, scope["path"])) and limit.isdigit() and int(limit) > 10_000

    return B.set_status(app, too_large, 400)


def _reject_intervals(app: Any) -> Any:
    def interval(scope: B.Scope) -> bool:
        return bool(re.search(ITEMS, scope["path"])) and "/" in B.params_of(scope).get(
            "datetime", ""
        )

    return B.set_status(app, interval, 400)


def _shrink_extent(doc: Any, scope: B.Scope) -> Any:
    for c in doc.get("collections", [doc]):
        box = c["extent"]["spatial"]["bbox"][0]
        c["extent"]["spatial"]["bbox"][0] = [box[0] + 0.1, box[1] + 0.1, box[2] - 0.1, box[3] - 0.1]
    return doc


def _extra_api_path(doc: dict) -> None:
    collection = next(p for p in doc["paths"] if p.endswith("/items")).removesuffix("/items")
    ok = {"200": {"description": "The schema of the collection"}}
    doc["paths"][f"{collection}/no-such-resource"] = {"get": {"operationId": "x", "responses": ok}}


# (name, breaker, checks that must be flagged: all of one requirement unless explained)
CASES: list[tuple[str, Callable[[Any], Any], set[str]]] = [
    (
        "numberMatched five too high",
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), _shift_numbers),
        {"core/fc-numberMatched", "core/fc-numberMatched-paged"},
    ),
    (
        "numberReturned one too high",
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), _bad_returned),
        {"core/fc-numberReturned"},
    ),
    (
        "timeStamp frozen in 2020",
        lambda a: B.rewrite_json(
            a, B.on_path(ITEMS), lambda d, s: {**d, "timeStamp": "2020-01-01T00:00:00Z"}
        ),
        {"core/fc-timeStamp-window"},
    ),
    (
        "timeStamp not RFC 3339",
        lambda a: B.rewrite_json(
            a, B.on_path(ITEMS), lambda d, s: {**d, "timeStamp": "yesterday noon"}
        ),
        {"core/fc-timeStamp"},
    ),
    (
        "next links dropped",
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), B.drop_links("next")),
        {"core/fc-next-1"},
    ),
    (
        "prev links lead to the first page",
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), B.edit_links("prev", _prev_to_start)),
        {"core/fc-prev"},
    ),
    (
        "bbox misses features at its eastern edge",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "bbox"), _shrink_bbox),
        {"core/fc-bbox-response-complete"},
    ),
    (
        "bbox ignored",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "bbox"), _ignore_bbox),
        {"core/fc-bbox-response", "core/fc-bbox-response-complete"},
    ),
    (
        "datetime ignored",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "datetime"), _ignore_datetime),
        {"core/fc-time-response-results"},
    ),
    (
        "open-ended datetime a year late",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "datetime"), _shift_datetime),
        {"core/fc-time-response-results"},
    ),
    (
        "limit below 10 ignored",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "limit"), _small_limit_ignored),
        {"core/fc-limit-response"},
    ),
    (
        "unknown parameter answered 200",
        lambda a: B.rewrite_query(a, B.on_path(ITEMS), _unknown_ignored),
        {"core/query-param-unknown"},
    ),
    (
        "limit=unlimited answered 200",
        lambda a: B.rewrite_query(a, B.on_path(ITEMS), _invalid_limit_ignored),
        {"core/query-param-invalid", "core/query-param-invalid-more"},
    ),
    (
        "first page in projected coordinates",
        lambda a: B.rewrite_json(
            a,
            lambda s: bool(re.search(ITEMS, s["path"])) and not s["query_string"],
            _first_page_projected,
        ),
        {"core/crs84"},
    ),
    (
        "feature with another id than its URL",
        lambda a: B.rewrite_json(
            a, B.on_path(ITEM), lambda d, s: {**d, "id": "x" + str(d.get("id"))}
        ),
        {"geojson/content"},
    ),
    (
        "feature without collection link",
        lambda a: B.rewrite_json(a, B.on_path(ITEM), B.drop_links("collection")),
        {"core/f-links"},
    ),
    (
        "feature's collection link relative and wrong",
        lambda a: _in_html(
            B.rewrite_json(
                a,
                B.on_path(ITEM),
                B.edit_links("collection", lambda x: x.update(href="street-trees")),
            ),
            ITEM,
            b'href="http://testserver/collections/street-trees"',
            b'href="street-trees"',
        ),
        {"core/f-links-targets"},
    ),
    (
        "HEAD not supported",
        lambda a: B.set_status(a, B.on_path(r"^/$", "HEAD"), 405),
        {"core/http"},
    ),
    (
        "conformance without Part 1 core",
        lambda a: B.rewrite_json(
            a, B.on_path(r"/conformance$"), lambda d, s: {**d, "conformsTo": d["conformsTo"][1:]}
        ),
        {"core/conformance-success"},
    ),
    (
        "landing page without data link",
        lambda a: B.rewrite_json(a, B.on_path(r"^/$"), B.drop_links("data")),
        {"core/root-success"},
    ),
    (
        "landing page data link to the wrong place",
        lambda a: _in_html(
            B.rewrite_json(
                a,
                B.on_path(r"^/$"),
                B.edit_links("data", lambda x: x.update(href=x["href"] + "/street-trees")),
            ),
            r"^/$",
            b'href="http://testserver/collections"',
            b'href="http://testserver/collections/street-trees"',
        ),
        {"core/root-success-targets"},
    ),
    (
        "/collections without self link",
        lambda a: B.rewrite_json(a, B.on_path(r"^/collections$"), B.drop_links("self")),
        {"core/fc-md-links"},
    ),
    (
        "collections without GeoJSON items links",
        lambda a: B.rewrite_json(a, B.on_path(r"^/collections$"), _entry_items_links),
        {"core/fc-md-items-links"},
    ),
    (
        "collection title differs from /collections",
        lambda a: B.rewrite_json(a, B.on_path(r"^/collections/[^/]+$"), _retitle),
        {"core/sfc-md-success"},
    ),
    (
        "API definition served as application/json",
        lambda a: B.set_header(a, B.on_path(r"^/api$"), "content-type", "application/json"),
        {"core/api-definition-success"},
    ),
    (
        "limit declared without minimum",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/api$"),
            _api(lambda d: _items_param(d, "limit")["schema"].pop("minimum")),
        ),
        {"core/fc-limit-definition"},
    ),
    (
        "bbox declared with 4 items only",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/api$"),
            _api(lambda d: _items_param(d, "bbox")["schema"].update(maxItems=4)),
        ),
        {"core/fc-bbox-definition"},
    ),
    (
        "datetime declared as an integer",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/api$"),
            _api(lambda d: _items_param(d, "datetime")["schema"].update(type="integer")),
        ),
        {"core/fc-time-definition"},
    ),
    (
        "API definition without info",
        lambda a: B.rewrite_json(a, B.on_path(r"^/api$"), _api(lambda d: d.pop("info"))),
        {"oas30/oas-definition-2"},
    ),
    (
        "items operation does not declare its 400",
        lambda a: B.rewrite_json(a, B.on_path(r"^/api$"), _api(_drop_400)),
        {"oas30/exceptions-codes"},
    ),
    (
        "landing page without service-doc",
        lambda a: B.rewrite_json(a, B.on_path(r"^/$"), B.drop_links("service-doc")),
        {"oas30/oas-definition-1"},
    ),
    (
        "HTML landing page misses the collections link",
        lambda a: B.rewrite_body(
            a,
            lambda s: s["path"] == "/" and b"html" in dict(s["headers"]).get(b"accept", b""),
            _html_without_collections_link,
        ),
        {"html/content"},
    ),
    (
        "HTML served as text/plain",
        lambda a: B.set_header(
            a,
            lambda s: s["path"] == "/" and b"text/html" in dict(s["headers"]).get(b"accept", b""),
            "content-type",
            "text/plain",
        ),
        {"html/definition"},
    ),
    # One fault, several requirements: items that are not application/geo+json break the
    # GeoJSON class and contradict the API definition and the typed links pointing to them.
    (
        "items served as application/json",
        lambda a: B.set_header(
            a,
            lambda s: (
                bool(re.search(ITEMS, s["path"]))
                and b"html" not in dict(s["headers"]).get(b"accept", b"")
            ),
            "content-type",
            "application/json",
        ),
        {
            "geojson/definition",
            "oas30/completeness",
            "core/fc-links-targets",
            "core/fc-md-items-links-targets",
        },
    ),
    (
        "landing page answers 500",
        lambda a: B.set_status(a, _on(r"^/$"), 500),
        {"core/root-op"},
    ),
    (
        "/conformance answers 500",
        lambda a: B.set_status(a, _on(r"^/conformance$"), 500),
        {"core/conformance-op", "core/conformance-success", "core/root-success-targets"},
    ),
    (
        "/collections answers 500",
        lambda a: B.set_status(a, _on(r"^/collections$"), 500),
        {"core/fc-md-op", "core/fc-md-success", "core/root-success-targets", "oas30/oas-impl"},
    ),
    (
        "collection title is a number",
        lambda a: B.rewrite_json(
            a, B.on_path(r"^/collections(/[^/]+)?$"), _collection_title_number
        ),
        {"core/fc-md-success"},
    ),
    (
        "/collections lists no collection",
        lambda a: B.rewrite_json(
            a, B.on_path(r"^/collections$"), lambda d, s: {**d, "collections": []}
        ),
        {"core/fc-md-items"},
    ),
    (
        "/collections crs list starts with EPSG:4326",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/collections$"),
            lambda d, s: {
                **d,
                "crs": ["http://www.opengis.net/def/crs/EPSG/0/4326", *d.get("crs", [])],
            },
        ),
        {"core/collections-crs-default"},
    ),
    (
        "collection answers 500",
        lambda a: B.set_status(a, _on(r"^/collections/[^/]+$"), 500),
        {
            "core/sfc-md-op",
            "core/sfc-md-success",
            "core/f-links-targets",
            "core/fc-links-targets",
            "oas30/oas-impl",
        },
    ),
    (
        "first items page answers 500",
        lambda a: B.set_status(a, _first_items_page, 500),
        {"core/fc-op", "oas30/oas-impl"},
    ),
    # A FeatureCollection of another type breaks Part 1 core and the GeoJSON class alike.
    (
        "items are not of type FeatureCollection",
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), lambda d, s: {**d, "type": "Collection"}),
        {"core/fc-response", "geojson/content"},
    ),
    (
        "items without alternate links",
        lambda a: B.rewrite_json(a, _on(ITEMS), B.drop_links("alternate")),
        {"core/fc-links"},
    ),
    (
        "items link to their collection without type",
        lambda a: B.rewrite_json(
            a, _on(ITEMS), B.edit_links("collection", lambda x: x.pop("type"))
        ),
        {"core/fc-rel-type"},
    ),
    (
        "feature answers 404",
        lambda a: B.set_status(a, _feature_url, 404),
        {"core/f-op", "core/f-success", "oas30/oas-impl"},
    ),
    (
        "feature answers 500",
        lambda a: B.set_status(a, _feature_url, 500),
        {"core/f-success", "oas30/oas-impl"},
    ),
    (
        "API definition lists a path the server lacks",
        lambda a: B.rewrite_json(a, B.on_path(r"^/api$"), _api(_extra_api_path)),
        {"oas30/oas-impl"},
    ),
    (
        "next pages overlap by one feature",
        lambda a: B.rewrite_json(a, _paged, _with_offset_step(1)),
        {"core/fc-next-2"},
    ),
    (
        "next pages larger than the first",
        lambda a: B.rewrite_json(a, _paged, _bigger_next_pages),
        {"core/fc-next-3"},
    ),
    (
        "limit above the maximum answered 400",
        _reject_large_limit,
        {"core/fc-limit-response-above-maximum"},
    ),
    ("datetime intervals answered 400", _reject_intervals, {"core/fc-time-response"}),
    (
        "extent smaller than the data",
        lambda a: B.rewrite_json(a, B.on_path(r"^/collections(/[^/]+)?$"), _shrink_extent),
        {"core/fc-md-extent"},
    ),
    (
        "API documentation page answers 404",
        lambda a: B.set_status(a, B.on_path(r"^/api\.html$"), 404),
        {"core/api-definition-op"},
    ),
]


@pytest.mark.parametrize(("name", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_suite_flags_exactly_the_broken_requirement(
    loop_thread: LoopThread, demo_app: Any, baseline: set[str], name: str, breaker, expected
):
    report = run_suite(loop_thread, breaker(demo_app), checks=PART1)
    new = flagged(report) - baseline
    assert new == expected - baseline, f"{name}:\n{explain(report)}"


def test_relative_links_that_resolve_are_fine(
    loop_thread: LoopThread, demo_app: Any, baseline: set[str]
):
    """Part 1 does not require absolute links; a client resolves them (RFC 3986)."""

    def relative(doc: Any, scope: B.Scope) -> Any:
        for x in B.links(doc):
            if x.get("rel") == "self":
                x["href"] = x["href"].rsplit("/", 1)[-1]
        return doc

    report = run_suite(
        loop_thread, B.rewrite_json(demo_app, B.on_path(ITEMS), relative), checks=PART1
    )
    assert flagged(report) - baseline == set(), explain(report)
