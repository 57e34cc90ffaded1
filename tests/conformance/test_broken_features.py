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

from tests.conformance import breakers as B
from tests.conformance import features_breakage as X
from tests.conformance.conftest import PART1, LoopThread, explain, flagged, run_suite

ITEMS, ITEM = X.ITEMS, X.ITEM
TREE = r"/collections/street-trees/items/[^/]+$"


# (name, breaker, checks that must be flagged: all of one requirement unless explained)
CASES: list[tuple[str, Callable[[Any], Any], set[str]]] = [
    (
        "numberMatched five too high",
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), X.shift_numbers),
        {"core/fc-numberMatched", "core/fc-numberMatched-paged"},
    ),
    (
        "numberReturned one too high",
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), X.bad_returned),
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
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), B.edit_links("prev", X.prev_to_start)),
        {"core/fc-prev"},
    ),
    (
        "bbox misses features at its eastern edge",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "bbox"), X.shrink_bbox),
        # A next link carries the shrunk box, shrunk again: its features fall short of the
        # first page's numberMatched, as the ETS method (paging from each bbox response) sees.
        {"core/fc-bbox-response-complete", "core/fc-numberMatched"},
    ),
    (
        "bbox ignored",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "bbox"), X.ignore_bbox),
        {"core/fc-bbox-response", "core/fc-bbox-response-complete"},
    ),
    (
        "bbox answers a feature without geometry",
        lambda a: B.rewrite_json(a, B.with_param(ITEMS, "bbox"), X.first_without_geometry),
        {"core/fc-bbox-response"},
    ),
    (
        "datetime ignored",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "datetime"), X.ignore_datetime),
        {"core/fc-time-response-results"},
    ),
    (
        "open-ended datetime a year late",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "datetime"), X.shift_datetime),
        {"core/fc-time-response-results"},
    ),
    (
        "limit below 10 ignored",
        lambda a: B.rewrite_query(a, B.with_param(ITEMS, "limit"), X.small_limit_ignored),
        # a collection of a few dozen items is paged in pages below 10: they overflow too
        {"core/fc-limit-response", "core/fc-next-3"},
    ),
    (
        "unknown parameter answered 200",
        lambda a: B.rewrite_query(a, B.on_path(ITEMS), X.unknown_ignored),
        {"core/query-param-unknown"},
    ),
    (
        "limit=unlimited answered 200",
        lambda a: B.rewrite_query(a, B.on_path(ITEMS), X.invalid_limit_ignored),
        {"core/query-param-invalid", "core/query-param-invalid-more"},
    ),
    (
        "first page in projected coordinates",
        lambda a: B.rewrite_json(
            a,
            lambda s: bool(re.search(ITEMS, s["path"])) and not s["query_string"],
            X.first_page_projected,
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
        lambda a: X.in_html(
            B.rewrite_json(
                a,
                B.on_path(TREE),
                B.edit_links("collection", lambda x: x.update(href="street-trees")),
            ),
            TREE,
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
        lambda a: X.in_html(
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
        lambda a: B.rewrite_json(a, B.on_path(r"^/collections$"), X.entry_items_links),
        {"core/fc-md-items-links"},
    ),
    (
        "collection title differs from /collections",
        lambda a: B.rewrite_json(a, B.on_path(r"^/collections/[^/]+$"), X.retitle),
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
            X.api(lambda d: X.items_param(d, "limit")["schema"].pop("minimum")),
        ),
        {"core/fc-limit-definition"},
    ),
    (
        "bbox declared with 4 items only",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/api$"),
            X.api(lambda d: X.items_param(d, "bbox")["schema"].update(maxItems=4)),
        ),
        {"core/fc-bbox-definition"},
    ),
    (
        "datetime declared as an integer",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/api$"),
            X.api(lambda d: X.items_param(d, "datetime")["schema"].update(type="integer")),
        ),
        {"core/fc-time-definition"},
    ),
    (
        "API definition without info",
        lambda a: B.rewrite_json(a, B.on_path(r"^/api$"), X.api(lambda d: d.pop("info"))),
        {"oas30/oas-definition-2"},
    ),
    (
        "items operation does not declare its 400",
        lambda a: B.rewrite_json(a, B.on_path(r"^/api$"), X.api(X.drop_400)),
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
            X.html_without_collections_link,
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


def test_an_old_timestamp_is_fine_when_the_answer_says_its_age(
    loop_thread: LoopThread, demo_app: Any, baseline: set[str]
):
    """A response cache replays a page made earlier and says so with `Age` (RFC 9111):
    its timeStamp is then the time the page was made, not the time it was sent."""
    from datetime import UTC, datetime, timedelta

    made = (datetime.now(UTC) - timedelta(minutes=50)).isoformat(timespec="seconds")
    hour_old = B.rewrite_json(
        demo_app, B.on_path(ITEMS), lambda d, s: {**d, "timeStamp": made.replace("+00:00", "Z")}
    )
    report = run_suite(
        loop_thread, B.set_header(hour_old, B.on_path(ITEMS), "age", "3600"), checks=PART1
    )
    assert "core/fc-timeStamp-window" not in flagged(report), explain(report)
