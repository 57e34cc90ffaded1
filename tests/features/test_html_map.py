"""The HTML pages' interactive parts, without a browser: the data of the OpenLayers map and
its ties to the table, the GET filter form, the fallback without OpenLayers, /static and
the Content-Security-Policy. (In a real browser: tests/browser/test_html_pages.py.)"""

from __future__ import annotations

import json
import math
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway import assets
from gateway.features import html as html_module
from gateway.features.encoders import CSP
from gateway.features.html import render
from tests.conftest import missing_service
from tests.features.test_html import BASE, feature, items_doc, point, sample_features

EPSG_25832 = "http://www.opengis.net/def/crs/EPSG/0/25832"
ITEMS = "/collections/street-trees/items"


def map_data(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S)
    assert found, "no map data in the page"
    return json.loads(found.group(1))


def test_map_data_holds_the_drawable_features_each_tied_to_its_table_row():
    page = render("items", items_doc(sample_features()), title="Roads")
    data = map_data(page)["features"]
    assert [f["label"] for f in data] == ["a1", "b/2", "3", "line"]  # "nowhere" has no geometry
    assert data[1]["href"] == f"{BASE}/collections/roads/items/b%2F2"
    assert data[3]["geometry"]["type"] == "LineString"
    rows = re.findall(r'<tr id="(feature-\d+)">', page)
    assert rows == [f"feature-{n}" for n in range(1, 6)]
    assert [f["row"] for f in data] == rows[:4]
    assert 'data-map data-label="Map of the features on this page"' in page


def test_map_data_cannot_end_its_script_element_and_holds_no_nan():
    evil = "</script><script>alert(1)</script><!--"
    geometry = {"type": "Point", "coordinates": [4.3, 50.8, math.nan]}
    page = render("items", items_doc([feature(evil, geometry)]), title="Roads")
    script = re.search(r'id="map-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in script and ">" not in script
    data = json.loads(script)["features"][0]
    assert data["label"] == evil and data["geometry"]["coordinates"] == [4.3, 50.8, None]


def test_without_openlayers_pages_keep_the_svg_map_load_no_script_and_say_why(monkeypatch):
    monkeypatch.setattr(html_module, "has_openlayers", lambda: False)
    page = render("items", items_doc(sample_features()), title="Roads")
    assert "<script" not in page and "ol.css" not in page
    assert "<svg" in page and "scripts/setup-web.sh installs it" in page


def test_features_in_another_crs_get_a_note_instead_of_a_wrong_map():
    doc = items_doc([feature("a", {"type": "Point", "coordinates": [565000.0, 5933000.0]})])
    page = render("items", doc, title="Trees", extra={"crs": EPSG_25832})
    assert "<svg" not in page and "map-data" not in page and "<script" not in page
    assert f"these coordinates are in {EPSG_25832}" in page


QUERYABLES = {
    "geometry": {"format": "geometry-point", "x-ogc-role": "primary-geometry"},
    "genus": {"title": "Genus", "type": "string", "enum": ["Acer", "Tilia"]},
    "height_m": {"title": "Height", "type": ["number", "null"]},
}


def form_of(page: str) -> str:
    return unescape(re.search(r'<form class="filters".*?</form>', page, re.S).group(0))


def test_the_filter_form_shows_the_filters_of_the_url_and_carries_the_rest_hidden():
    self_href = (
        f"{BASE}/collections/roads/items?limit=4&offset=8&genus=Tilia&filter=height_m>3&f=html"
    )
    doc = items_doc(sample_features())
    doc["links"][:2] = [{"href": self_href, "rel": "self", "type": "text/html"}]
    form = form_of(render("items", doc, title="Trees", extra={"queryables": QUERYABLES}))
    assert f'method="get" action="{BASE}/collections/roads/items"' in form
    assert re.search(r'<input id="limit" name="limit" type="number" min="1"[^>]* value="4"', form)
    assert '<label for="q-1">Genus</label>' in form and 'name="genus" value="Tilia"' in form
    assert "<code>height_m</code>: number<" in form and "one of Acer, Tilia" in form
    assert '<input type="hidden" name="filter" value="height_m>3">' in form
    assert '<input type="hidden" name="f" value="html">' in form
    assert 'name="offset"' not in form and 'name="geometry"' not in form  # page 1 again
    assert "<details open>" in form  # a queryable is set: its fields are shown
    for field in re.findall(r'<input id="([^"]+)"', form):
        assert f'<label for="{field}">' in form, field


def test_html_items_take_the_forms_empty_fields_as_absent_json_does_not(demo_client: TestClient):
    answer = demo_client.get(f"{ITEMS}?f=html&bbox=&datetime=&limit=&genus=&sortby=")
    assert answer.status_code == 200 and '<table class="features"' in answer.text
    assert demo_client.get(f"{ITEMS}?f=json&bbox=").status_code == 400


def test_html_pages_forbid_inline_script_and_other_origins(demo_client: TestClient):
    for path in ("/?f=html", f"{ITEMS}?f=html", "/api.html"):
        answer = demo_client.get(path)
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert "unsafe" not in CSP and "script-src 'self'" in CSP and "default-src 'none'" in CSP


def test_pages_and_error_pages_load_their_files_from_the_public_static_url(
    demo_client: TestClient,
):
    page = demo_client.get(f"{ITEMS}?f=html", headers={"host": "gw.example:8443"}).text
    assert re.search(r'href="http://gw\.example:8443/static/twinbridge\.css\?v=\w{10}"', page)
    error = demo_client.get("/collections/nope", headers={"accept": "text/html"})
    assert error.status_code == 404
    assert 'href="http://testserver/static/twinbridge.css?v=' in error.text


def test_own_static_files_are_cached_an_hour_with_etag_and_never_sniffed(demo_client):
    answer = demo_client.get("/static/map.js")
    assert answer.status_code == 200 and "javascript" in answer.headers["content-type"]
    assert answer.headers["cache-control"] == "public, max-age=3600"
    assert answer.headers["x-content-type-options"] == "nosniff"
    again = demo_client.get("/static/map.js", headers={"if-none-match": answer.headers["etag"]})
    assert again.status_code == 304
    assert demo_client.head("/static/twinbridge.css").status_code == 200


def test_vendor_files_are_cached_for_a_year(demo_client: TestClient):
    if not assets.has_openlayers():
        missing_service("OpenLayers is not in gateway/static/vendor (run scripts/setup-web.sh)")
    answer = demo_client.get("/static/vendor/ol.css")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize(
    "path", ["/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/vendor/%2e%2e/%2e%2e/cli.py",
             "/static/", "/static/nope.js"],
)  # fmt: skip
def test_static_serves_nothing_outside_its_folder(demo_client: TestClient, path: str):
    answer = demo_client.get(path)
    assert answer.status_code == 404 and "import" not in answer.text


def test_asset_urls_change_when_the_file_does(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(assets, "STATIC", tmp_path)
    (tmp_path / "map.js").write_text("one")
    first = assets.asset_url("http://gw/static", "map.js")
    (tmp_path / "map.js").write_text("three")
    assert first.startswith("http://gw/static/map.js?v=") and assets.asset_url(
        "http://gw/static", "map.js"
    ) not in (first, "http://gw/static/map.js")
    assert assets.asset_url("http://gw/static", "gone.js") == "http://gw/static/gone.js"


def test_the_item_page_map_draws_its_geometry(demo_client: TestClient):
    page = render("item", {**feature("a1", point(4.35, 50.85)), "links": []}, title="A1")
    assert map_data(page)["features"][0]["geometry"] == point(4.35, 50.85)
    assert 'aria-label="Map of the geometry of this feature"' in page
