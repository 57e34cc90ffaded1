"""OGC's ETS repeats its items response tests (type, features, links, timeStamp,
numberMatched, numberReturned, CRS84 geometry) on the responses to its `limit`, `bbox` and
`datetime` requests (FeaturesLimit, FeaturesBBox, FeaturesTime). Each case here breaks one
of those properties on one kind of response only, so a check that looked at the first
page alone would pass it: the suite must flag exactly that property's check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conformance import breakers as B
from tests.conformance import features_breakage as X
from tests.conformance.conftest import LoopThread, explain, flagged, run_suite

Mutation = Callable[[Any, B.Scope], Any]


def only(param: str) -> B.Match:
    """Items requests with exactly this one query parameter: the ETS's sample requests,
    not the next pages (which carry a paging token) nor the first page (none)."""
    base = B.on_path(X.ITEMS, "GET")
    return lambda s: base(s) and set(B.params_of(s)) == {param}


def wrong_type(doc: Any, scope: B.Scope) -> Any:
    return {**doc, "type": "Feature"}


def bad_timestamp(doc: Any, scope: B.Scope) -> Any:
    return {**doc, "timeStamp": "yesterday noon"}


def matched_plus_five(doc: Any, scope: B.Scope) -> Any:
    """Five more than matched: shown also where the response has no numberMatched."""
    return {**doc, "numberMatched": len(doc.get("features") or []) + 5}


def projected(doc: Any, scope: B.Scope) -> Any:
    for f in doc.get("features") or []:
        if f.get("geometry") and f["geometry"].get("type") == "Point":
            f["geometry"]["coordinates"] = [555_000.0, 5_930_000.0]
    return doc


BREAKAGES: list[tuple[str, Mutation, set[str]]] = [
    ("type Feature", wrong_type, {"core/fc-response"}),
    ("self link dropped", B.drop_links("self"), {"core/fc-links"}),
    ("timeStamp not RFC 3339", bad_timestamp, {"core/fc-timeStamp"}),
    ("numberReturned one too high", X.bad_returned, {"core/fc-numberReturned"}),
    ("numberMatched five too high", matched_plus_five, {"core/fc-numberMatched"}),
    ("points in projected metres", projected, {"core/crs84"}),
]
# Checks beyond the ETS that read the same responses and see the same fault their way:
# fc-bbox-response wants CRS84 positions inside the box; fc-md-extent reads all items with
# `limit` alone and finds them outside the extent; fc-numberMatched-paged pages with `limit`
# and sees numberMatched change from page to page.
ALSO: dict[tuple[str, str], set[str]] = {
    ("bbox", "points in projected metres"): {"core/fc-bbox-response"},
    ("limit", "points in projected metres"): {"core/fc-md-extent"},
    ("limit", "numberMatched five too high"): {"core/fc-numberMatched-paged"},
}
VARIANTS = ("limit", "bbox", "datetime")

# (name, breaker, checks that must be flagged)
CASES: list[tuple[str, Callable[[Any], Any], set[str]]] = [
    (
        f"{variant} responses: {name}",
        lambda a, v=variant, m=mutate: B.rewrite_json(a, only(v), m),
        expected | ALSO.get((variant, name), set()),
    )
    for variant in VARIANTS
    for name, mutate, expected in BREAKAGES
]
# The ETS's operation tests (Abstract Test 13) want 200 for each of its limit, bbox and
# datetime requests; the checks of that parameter's response send those requests.
STATUS_CASES: list[tuple[str, Callable[[Any], Any], set[str]]] = [
    (
        f"{variant} requests answer 500",
        lambda a, v=variant: B.fail_successes(a, only(v)),
        expected,
    )
    for variant, expected in (
        # the timeStamp window is read with limit=1, the cap above the maximum with limit alone
        (
            "limit",
            {
                "core/fc-limit-response",
                "core/fc-timeStamp-window",
                "core/fc-limit-response-above-maximum",
            },
        ),
        ("bbox", {"core/fc-bbox-response"}),
        ("datetime", {"core/fc-time-response"}),
    )
]
CASES += STATUS_CASES
CORE = ["core/"]


@pytest.fixture(scope="module")
def core_baseline(loop_thread: LoopThread, demo_app: Any) -> set[str]:
    return flagged(run_suite(loop_thread, demo_app, checks=CORE))


@pytest.mark.parametrize(("name", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_repeated_response_test_fails_on_that_response_alone(
    loop_thread: LoopThread, demo_app: Any, core_baseline: set[str], name: str, breaker, expected
):
    report = run_suite(loop_thread, breaker(demo_app), checks=CORE)
    assert flagged(report) - core_baseline == expected - core_baseline, (
        f"{name}:\n{explain(report)}"
    )
