"""`assess` walks a collection's pages over HTTP: all of them, and says when it could not."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

import profiles
from gateway.quality.walk import WalkOptions, assess, items_url
from tests.quality.fake_server import broken_trees, good_trees, make_app

TREES = profiles.get("street-trees")


def run(app: Any, **options: Any) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    seen: list[int] = []
    doc = asyncio.run(
        assess(
            "http://fake/",
            TREES,
            options=WalkOptions(**{"page_size": 10, **options}),
            progress=lambda state: seen.append(state.items),
            transport=transport,
        )
    )
    doc["progress"] = seen
    return doc


def test_every_page_is_read_along_the_next_links():
    doc = run(make_app(good_trees(35)))
    assert doc["walk"]["complete"] is True
    assert doc["walk"]["pages"] == 4
    assert doc["walk"]["numberMatched"] == 35
    assert doc["progress"] == [10, 20, 30, 35]
    assert doc["quality"]["items"] == 35
    assert doc["quality"]["valid"]["share"] == 1.0
    assert doc["target"] == "http://fake/collections/street-trees/items"


def test_a_broken_collection_moves_every_figure():
    good = run(make_app(good_trees(50)))["quality"]
    bad = run(make_app(broken_trees(50)))["quality"]
    assert good["valid"]["share"] == 1.0 and bad["valid"]["share"] < 1.0
    assert good["completeness"]["height_m"] == 1.0 and bad["completeness"]["height_m"] == 0.8
    assert good["outside_code_list"]["genus"] == 0 and bad["outside_code_list"]["genus"] == 10
    assert good["geometry"]["empty"] == 0 and bad["geometry"]["empty"] == 10
    assert good["ids"]["duplicates"] == 0 and bad["ids"]["duplicates"] == 10


def test_a_next_link_that_loops_ends_the_walk_and_says_so():
    doc = run(make_app(good_trees(30), loop=True))
    assert doc["walk"]["complete"] is False
    assert "already followed" in doc["walk"]["stopped"]
    # The first URL (limit=10&f=json) differs from the link back (offset=0): the page is
    # read twice, which the duplicate ids show, then the repeated link stops the walk.
    assert doc["quality"]["items"] == 20
    assert doc["quality"]["ids"]["duplicates"] == 10


def test_a_failing_page_ends_the_walk_with_the_figures_so_far():
    doc = run(make_app(good_trees(30), fail_page=1))
    assert doc["walk"]["complete"] is False
    assert "answered 500" in doc["walk"]["stopped"]
    assert doc["quality"]["items"] == 10


def test_max_items_bounds_the_walk():
    doc = run(make_app(good_trees(30)), max_items=15)
    assert doc["quality"]["items"] == 15
    assert doc["walk"]["complete"] is False and "max-items" in doc["walk"]["stopped"]


def test_an_unreachable_server_is_an_incomplete_walk_not_a_crash():
    doc = asyncio.run(
        assess("http://127.0.0.1:9/", TREES, options=WalkOptions(timeout=5, page_size=10))
    )
    assert doc["walk"]["complete"] is False
    assert "ConnectError" in doc["walk"]["stopped"]


def test_items_url_accepts_a_landing_page_a_collection_or_items():
    assert items_url("http://x/api/", "trees") == "http://x/api/collections/trees/items"
    assert items_url("http://x/hamburg/collections/b", "trees") == (
        "http://x/hamburg/collections/b/items"
    )
    assert items_url("http://x/collections/b/items?genus=Tilia", "t") == (
        "http://x/collections/b/items?genus=Tilia"
    )
