"""The gateway's own HTML pages in a real browser (Chromium), from the demo: every page kind
loads with no console error under the pages' Content-Security-Policy, passes axe-core with
no serious or critical violation, and the items page's OpenLayers map draws the page's
features, ties them to the table rows and fills the filter form's bbox."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import SCREENSHOTS, Problems, node_modules

pytestmark = pytest.mark.integration

ITEMS = "/collections/street-trees/items"


def first_item_path(base: str) -> str:
    with urllib.request.urlopen(f"{base}{ITEMS}?limit=1&f=json") as answer:
        return f"{ITEMS}/{json.load(answer)['features'][0]['id']}"


def page_kinds(base: str) -> dict[str, str]:
    """One URL of every kind of HTML page, federated and per tenant."""
    return {
        "federated root": "/",
        "tenant root": "/hamburg/",
        "collections": "/collections",
        "collection": "/collections/street-trees",
        "items": ITEMS,
        "tenant items": "/hamburg/collections/strassenbaeume/items",
        "item": first_item_path(base),
        "queryables": "/collections/street-trees/queryables",
        "conformance": "/conformance",
        "api": "/api.html",
        "error": "/collections/no-such-collection",
    }


KINDS = ["federated root", "tenant root", "collections", "collection", "items", "tenant items",
         "item", "queryables", "conformance", "api", "error"]  # fmt: skip


def open_page(page: Any, base: str, kind: str) -> str:
    url = f"{base}{page_kinds(base)[kind]}"
    answer = page.goto(url if kind == "api" else f"{url}?f=html")
    if kind == "error":  # the page asked for is the 404: expected, and the only one
        assert answer.status == 404
        expected = f"HTTP 404: {answer.url}"
        assert [p for p in page.problems if p.startswith("HTTP 4")] == [expected]
        page.problems[:] = [p for p in page.problems if p != expected and "of 404" not in p]
    else:
        assert answer.status == 200
    if page.locator("figure.map[data-map]").count():
        page.wait_for_selector(".olmap[data-state=ready]")
    return url


@pytest.mark.parametrize("kind", KINDS)
def test_every_page_kind_loads_with_landmarks_and_no_console_error(
    page: Any, live_demo: str, kind: str
) -> None:
    open_page(page, live_demo, kind)
    assert page.locator("html").get_attribute("lang") == "en"
    for landmark in ("header", "main", "footer"):
        assert page.locator(landmark).count() >= 1, landmark
    page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
    skip = page.locator("a.skip")
    assert skip.evaluate("a => a === document.activeElement") and skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


@pytest.fixture
def axe_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page whose CSP lets axe-core be injected (the pages allow no inline script)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.problems = Problems()
    page.problems.watch(page)
    try:
        yield page
        assert not page.problems, "\n".join(page.problems)
    finally:
        context.close()


@pytest.mark.parametrize("kind", KINDS)
def test_axe_finds_no_serious_or_critical_violation(axe_page: Any, live_demo: str, kind: str):
    open_page(axe_page, live_demo, kind)
    axe_page.add_script_tag(path=str(node_modules() / "axe-core" / "axe.min.js"))
    result = axe_page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa', 'best-practice']})"
    )
    assert result["passes"], "axe checked nothing"
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("kind", ["items", "collections"])
def test_axe_finds_no_serious_violation_in_the_dark_colour_scheme(axe_page, live_demo, kind):
    axe_page.emulate_media(color_scheme="dark")
    test_axe_finds_no_serious_or_critical_violation(axe_page, live_demo, kind)


def map_state(page: Any) -> dict[str, Any]:
    """The OpenLayers layer's features: count, highlighted ones, and their pixels."""
    return page.evaluate(
        """() => {
          const {map, layer} = document.querySelector('.olmap').twinbridge;
          const features = layer.getSource().getFeatures();
          return {
            count: features.length,
            hot: features.filter(f => f.get('hot')).map(f => f.get('row')),
            pixels: features.map(f => [f.get('row'),
                                       map.getPixelFromCoordinate(f.getGeometry().getCoordinates())]),
          };
        }"""
    )


def test_the_items_map_draws_every_feature_of_the_page_fitted_in_view(page: Any, live_demo: str):
    page.goto(f"{live_demo}{ITEMS}?f=html&limit=40")
    page.wait_for_selector(".olmap[data-state=ready]")
    state = map_state(page)
    assert state["count"] == page.locator("table.features tbody tr").count() == 40
    box = page.locator(".olmap").bounding_box()
    assert all(0 <= x <= box["width"] and 0 <= y <= box["height"] for _, (x, y) in state["pixels"])
    assert page.locator(".map-static").is_hidden()  # the SVG preview gave way to the map
    page.locator("figure.map").scroll_into_view_if_needed()
    box = page.locator(".olmap").bounding_box()
    x, y = state["pixels"][0][1]
    page.mouse.move(box["x"] + x, box["y"] + y)  # for the picture: a highlighted feature
    page.wait_for_selector("tr.hot")
    # The README's picture (docs/html-map.png) is a copy of this one; a test never
    # rewrites a committed file.
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator("figure.map").screenshot(path=str(SCREENSHOTS / "html-map.png"), scale="css")


def test_pointing_at_a_feature_highlights_its_row_and_a_row_its_feature(page: Any, live_demo: str):
    page.goto(f"{live_demo}{ITEMS}?f=html&limit=10")
    page.wait_for_selector(".olmap[data-state=ready]")
    row_id, (x, y) = map_state(page)["pixels"][3]
    box = page.locator(".olmap").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_selector(f"tr#{row_id}.hot")
    assert page.locator("tr.hot").count() == 1
    page.mouse.click(box["x"] + x, box["y"] + y)
    assert "Selected: " in page.locator(".map-status").inner_text()
    other = page.locator("table.features tbody tr").nth(6)
    other.hover()
    assert map_state(page)["hot"] == [other.get_attribute("id")]
    other.locator("a").first.focus()  # the keyboard way: focusing a row's link
    assert map_state(page)["hot"] == [other.get_attribute("id")]


def test_map_and_its_controls_are_reachable_by_keyboard(page: Any, live_demo: str):
    page.goto(f"{live_demo}{ITEMS}?f=html&limit=10")
    page.wait_for_selector(".olmap[data-state=ready]")
    view = "document.querySelector('.olmap').twinbridge.map.getView()"
    zoom = page.evaluate(f"() => {view}.getZoom()")
    page.locator(".olmap").focus()
    page.keyboard.press("+")
    page.wait_for_function(f"() => {view}.getZoom() > {zoom}")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused == "Zoom in"


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_paging_and_the_filter_form_keep_the_parameters_in_the_url(page: Any, live_demo: str):
    page.goto(f"{live_demo}{ITEMS}?f=html&limit=5&genus=Tilia&sortby=-height_m")
    page.locator("nav.pager a[rel=next]").first.click()
    page.wait_for_load_state()
    kept = query_of(page.url)
    assert kept["limit"] == ["5"] and kept["genus"] == ["Tilia"] and kept["sortby"] == ["-height_m"]
    assert kept.get("offset") == ["5"] or "cursor" in kept  # a federation pages by cursor
    assert page.locator("#limit").input_value() == "5"
    assert page.locator("input[name=genus]").input_value() == "Tilia"
    page.locator("#limit").fill("3")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_load_state()
    sent = query_of(page.url)
    assert sent["limit"] == ["3"] and sent["genus"] == ["Tilia"] and sent["sortby"] == ["-height_m"]
    assert "offset" not in sent and "cursor" not in sent  # a new search starts at page 1
    genus = page.locator("table.features thead th", has_text="genus")
    column = page.locator("table.features thead th").all_inner_texts().index(genus.inner_text())
    cells = page.locator(f"table.features tbody tr > :nth-child({column + 1})").all_inner_texts()
    assert cells == ["Tilia"] * 3


def test_the_map_view_becomes_the_bbox_filter(page: Any, live_demo: str):
    page.goto(f"{live_demo}{ITEMS}?f=html&limit=20")
    page.wait_for_selector(".olmap[data-state=ready]")
    page.locator(".olmap").focus()
    for _ in range(3):
        page.keyboard.press("+")
    page.wait_for_timeout(600)  # the zoom animation (not a timing assertion)
    page.locator("button[data-map-bbox]").click()
    west, south, east, north = map(float, page.locator("#bbox").input_value().split(","))
    assert west < east and south < north
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_load_state()
    assert query_of(page.url)["bbox"]
    page.wait_for_selector(".olmap[data-state=ready]")
    lonlats = page.evaluate(
        """() => document.querySelector('.olmap').twinbridge.layer.getSource().getFeatures()
                 .map(f => ol.proj.toLonLat(f.getGeometry().getCoordinates()))"""
    )
    assert lonlats and all(west <= x <= east and south <= y <= north for x, y in lonlats)


def test_without_javascript_the_svg_map_links_and_the_form_still_work(chromium: Any, live_demo):
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_demo}{ITEMS}?f=html&limit=4")
        assert page.locator(".map-static svg circle").count() == 4
        assert page.locator(".olmap").count() == 0
        page.locator("#datetime").fill("")
        page.locator("#limit").fill("2")
        page.locator("form.filters button[type=submit]").click()  # empty fields included
        assert page.locator("table.features tbody tr").count() == 2
        page.locator(".map-static svg a").first.click()
        assert "/items/" in page.url and page.locator("table.properties").count() == 1
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "no-javascript.png"))
    finally:
        context.close()
