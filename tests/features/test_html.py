"""HTML encoding of the OGC API – Features resources: content, maps, escaping, offline.
(The interactive map's data, the filter form and /static: tests/features/test_html_map.py.)"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest

from gateway.features.html import render

BASE = "http://gw.test/city"
ITEMS_SELF = f"{BASE}/collections/roads/items?limit=4&f=json"
NEXT = f"{BASE}/collections/roads/items?limit=4&offset=4"
PREV = f"{BASE}/collections/roads/items?limit=4&offset=0"
XSS = "<script>alert(1)</script>"
CRUMBS = [("Home", f"{BASE}/"), ("Collections", f"{BASE}/collections")]


def link(href: str, rel: str, type_: str = "application/json", **extra: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, **extra}


def feature(fid: Any, geometry: dict | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": fid, "properties": props, "geometry": geometry}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def items_doc(features: list[dict], **extra: Any) -> dict[str, Any]:
    geojson = "application/geo+json"
    links = [
        link(ITEMS_SELF, "self", geojson, title="This page"),
        link(ITEMS_SELF.replace("json", "html"), "alternate", "text/html"),
        link(f"{BASE}/collections/roads?f=json", "alternate"),
        link(NEXT, "next", geojson, title="Next page"),
        link(PREV, "prev", geojson, title="Previous page"),
    ]
    counts = {"numberMatched": 1234, "numberReturned": len(features)}
    return {"type": "FeatureCollection", "features": features, "links": links, **counts,
            "timeStamp": "2024-05-01T10:00:00Z", **extra}  # fmt: skip


def sample_features() -> list[dict[str, Any]]:
    return [
        feature("a1", point(4.35, 50.85), name="Rue Neuve", lanes=2),
        feature("b/2", point(4.36, 50.86), name="Avenue", surface="asphalt"),
        feature(3, point(4.34, 50.84), lanes=1),
        feature("line", {"type": "LineString", "coordinates": [[4.3, 50.8], [4.4, 50.9]]}),
        feature("nowhere", None, name="No geometry"),
    ]


def collection_doc(cid: str = "roads", bbox: list | None = None) -> dict[str, Any]:
    extent = {"spatial": {"bbox": [bbox or [4.2, 50.7, 4.5, 50.95]]},
              "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]}}  # fmt: skip
    links = [
        link(f"{BASE}/collections/{cid}", "self"),
        link(f"{BASE}/collections/{cid}?f=html", "alternate", "text/html"),
        link(f"{BASE}/collections/{cid}/items", "items", "application/geo+json"),
    ]
    crs = ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    return {"id": cid, "title": "Roads", "description": "Road segments", "itemType": "feature",
            "crs": crs, "extent": extent, "links": links}  # fmt: skip


LIMIT = {"name": "limit", "in": "query", "required": False, "description": "Maximum items",
         "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}  # fmt: skip
BBOX = "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/parameters/bbox.yaml"
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "TwinBridge", "version": "0.1.0", "description": "City gateway"},
    "paths": {"/collections/{collectionId}/items": {
        "parameters": [{"$ref": "#/components/parameters/collectionId"}],
        "get": {"summary": "Fetch features", "operationId": "getFeatures",
                "parameters": [LIMIT, {"$ref": BBOX}],
                "responses": {"200": {"description": "The features",
                                      "content": {"application/geo+json": {}}},
                              "404": {"$ref": "#/components/responses/NotFound"}}},
    }},
    "components": {
        "parameters": {"collectionId": {"name": "collectionId", "in": "path", "required": True,
                                        "schema": {"type": "string"}}},
        "responses": {"NotFound": {"description": "No such collection"}},
    },
}  # fmt: skip


def all_pages() -> list[tuple[str, dict[str, Any]]]:
    landing_links = [
        link(f"{BASE}/", "self", title="This document"),
        link(f"{BASE}/collections", "data"),
        link(f"{BASE}/conformance", "conformance"),
        link(f"{BASE}/api", "service-desc", "application/vnd.oai.openapi+json"),
    ]
    item = {**feature("a1", point(4.35, 50.85), name="Rue Neuve"), "links": []}
    queryables = {"properties": {"name": {"type": "string", "title": "Street name"}}}
    return [
        ("landing", {"title": "City", "description": "A gateway", "links": landing_links}),
        ("conformance", {"conformsTo": ["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"]}),
        ("collections", {"links": [], "collections": [collection_doc()]}),
        ("collection", collection_doc()),
        ("items", items_doc(sample_features())),
        ("item", item),
        ("queryables", queryables),
        ("api", OPENAPI),
        ("error", {"code": "NotFound", "description": "No collection 'x'", "status": 404}),
    ]  # fmt: skip


def assert_well_formed(html: str) -> None:
    """Every element opened is closed, in order (void and self-closed SVG elements aside)."""
    assert html.startswith("<!DOCTYPE html>")
    stack: list[str] = []
    for closing, tag in re.findall(r"<(/?)([a-z][a-z0-9]*)\b[^>]*?(?<!/)>", html):
        if closing:
            assert stack and stack.pop() == tag, f"</{tag}> closes another element"
        elif tag not in ("meta", "link", "br", "input"):
            stack.append(tag)
    assert stack == []


def svg_of(html: str) -> str:
    found = re.search(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert found, "no SVG map in the page"
    return found.group(0)


@pytest.mark.parametrize(("kind", "doc"), all_pages(), ids=[kind for kind, _ in all_pages()])
def test_every_kind_renders_a_well_formed_page_with_title_and_breadcrumbs(kind, doc):
    html = render(kind, doc, title=f"The {kind} page", breadcrumbs=CRUMBS)
    assert_well_formed(html)
    assert f"<title>The {kind} page" in html
    assert f"<h1>The {kind} page</h1>" in html
    assert f'<a href="{BASE}/collections" aria-current="page">Collections</a>' in html


@pytest.mark.parametrize(("kind", "doc"), all_pages(), ids=[kind for kind, _ in all_pages()])
def test_pages_load_nothing_from_elsewhere_and_only_show_urls_of_the_document(kind, doc):
    html = render(kind, doc, title="Page", breadcrumbs=CRUMBS)
    for tag in re.findall(r"<script\b[^>]*>", html):  # the gateway's own files, or data
        assert re.fullmatch(r'<script src="/static/[a-z/.]+\?v=\w+" defer>', tag) or (
            tag == '<script type="application/json" id="map-data">'
        ), tag
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html, re.IGNORECASE)  # no inline event handlers
    assert not re.search(r"<link[^>]+href=\"https?:", html)
    assert not re.search(r"<(img|iframe|object|embed)\b", html)
    assert "@import" not in html and "url(" not in html
    known = json.dumps([doc, CRUMBS])
    item_links = f"{BASE}/collections/roads/items/"  # built from the items page's self link
    clear = f"{BASE}/collections/roads/items?f=html"  # the filter form's "Clear the filters"
    for url in map(unescape, re.findall(r"https?://[^\s\"'<>]+", html)):
        assert url in known or url.startswith(item_links) or url == clear, url


def test_links_are_listed_as_a_table_and_the_json_alternate_offered_as_a_button():
    html = render("items", items_doc([]), title="Roads")
    row = re.search(r"<tr>\s*<td><code>next</code></td>.*?</tr>", html, re.DOTALL)
    assert row and "application/geo+json" in row.group(0)
    assert f'<a href="{NEXT.replace("&", "&amp;")}">Next page</a>' in row.group(0)
    assert f'class="button" href="{BASE}/collections/roads?f=json"' in html
    assert ">JSON</a>" not in render("conformance", {"conformsTo": []}, title="Conformance")


def test_an_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown"):
        render("tiles", {}, title="Tiles")  # type: ignore[arg-type]


def test_items_page_shows_features_linked_to_their_items_properties_counts_and_paging():
    html = render("items", items_doc(sample_features()), title="Roads")
    header = re.search(r"<thead>\s*<tr><th scope=\"col\">id</th>(.*?)</tr>", html, re.DOTALL)
    assert header, "no features table"
    columns = re.findall(r"<th scope=\"col\">(.*?)</th>", header.group(1))
    assert columns == ["name", "lanes", "surface"]  # union of property names, first seen first
    for text in ("Rue Neuve", "asphalt", "No geometry", "1234", "2024-05-01T10:00:00Z"):
        assert text in html
    assert f'rel="next" href="{NEXT.replace("&", "&amp;")}"' in html
    assert f'rel="prev" href="{PREV.replace("&", "&amp;")}"' in html
    items = f"{BASE}/collections/roads/items"  # the self link without its query
    assert f'<a href="{items}/a1">a1</a>' in html
    assert f'<a href="{items}/b%2F2">b/2</a>' in html
    assert f'<a href="{items}/3">3</a>' in html


def test_paging_links_and_number_matched_are_optional():
    doc = items_doc([feature("a", point(1, 1))])
    doc["links"] = [link for link in doc["links"] if link["rel"] not in ("prev", "next")]
    del doc["numberMatched"]
    html = render("items", doc, title="Roads")
    assert 'rel="next"' not in html and 'rel="prev"' not in html
    assert "Matched" not in html and "<dd>1</dd>" in html


def test_an_empty_collection_renders_without_table_or_map():
    html = render("items", items_doc([], numberMatched=0), title="Roads")
    assert_well_formed(html)
    assert "No features on this page" in html
    assert "<svg" not in html and '<table class="features"' not in html


def test_failed_sources_are_shown_as_a_warning_banner():
    failures = [{"source": "wfs", "error": "timed out after 5 s"}, {"source": "x", "error": XSS}]
    doc = items_doc(sample_features(), **{"twinbridge:failedSources": failures})
    html = render("items", doc, title="Roads")
    banner = re.search(r'<div class="banner" role="alert">.*?</div>', html, re.DOTALL)
    assert banner, "no banner"
    assert "2 sources did not answer" in banner.group(0)
    assert "<code>wfs</code>: timed out after 5 s" in banner.group(0)
    assert "&lt;script&gt;" in banner.group(0)
    assert 'role="alert"' not in render("items", items_doc(sample_features()), title="Roads")


def test_the_map_draws_a_circle_per_point_feature_titled_and_linked_to_its_item():
    svg = svg_of(render("items", items_doc(sample_features()), title="Roads"))
    assert svg.count("<circle") == 3 and svg.count('<path class="line"') == 1
    titles = re.findall(r"<title>(.*?)</title>", svg)
    assert titles == ["a1", "b/2", "3", "line"]  # the null geometry is not drawn
    assert f'<a href="{BASE}/collections/roads/items/a1"><g class="feat">' in svg


def test_the_map_is_fitted_north_up_rounded_to_one_decimal_with_a_labelled_graticule():
    svg = svg_of(render("items", items_doc(sample_features()), title="Roads"))
    width, height = map(float, re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())
    circles = [tuple(map(float, c)) for c in re.findall(r'cx="(\S+)" cy="(\S+)"', svg)]
    assert all(0 < x < width and 0 < y < height for x, y in circles)
    (x1, y1), (x2, y2), (x3, y3) = circles  # lon/lat 4.35/50.85, 4.36/50.86, 4.34/50.84
    assert x3 < x1 < x2 and y2 < y1 < y3
    numbers = re.findall(r'(?:d|cx|cy|x|y)="([^"]*)"', svg)
    assert all(re.fullmatch(r"-?\d+(\.\d)?", n) for d in numbers for n in re.findall(r"[\d.]+", d))
    assert '<path class="grat" d="M' in svg
    assert re.search(r'<text class="lbl"[^>]*>4\.3\d*°</text>', svg)


def test_all_geometry_types_are_drawn():
    geometries = [
        {"type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]},
        {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 0]], [[0, 1], [1, 1]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        {"type": "MultiPolygon", "coordinates": [[[[2, 2], [3, 2], [3, 3], [2, 2]]]]},
        {"type": "GeometryCollection", "geometries": [point(0.5, 0.5), point(0.6, 0.6)]},
        {"type": "Point", "coordinates": [0.2, 0.2, 12.5]},  # a third coordinate is ignored
    ]
    features = [feature(f"f{i}", g) for i, g in enumerate(geometries)]
    svg = svg_of(render("items", items_doc(features), title="All"))
    assert (svg.count("<circle"), svg.count('class="line"'), svg.count('class="area"')) == (5, 2, 2)
    assert re.findall(r"<title>(.*?)</title>", svg) == [f"f{i}" for i in range(6)]


def test_malformed_or_unknown_geometries_are_skipped_not_fatal():
    broken = [{"type": "Point", "coordinates": ["x", 1]}, {"type": "Point", "coordinates": None},
              {"type": "Polygon", "coordinates": 7}, {"type": "Curve", "coordinates": [[0, 0]]},
              {"type": ["Point"], "coordinates": [0, 0]}, "POINT (1 2)"]  # fmt: skip
    features = [feature(f"bad{i}", g) for i, g in enumerate(broken)]
    html = render("items", items_doc([*features, feature("ok", point(1, 2))]), title="Mixed")
    assert_well_formed(html)
    assert re.findall(r"<title>(.*?)</title>", svg_of(html)) == ["ok"]
    assert all(f">bad{i}</a>" in html for i in range(len(broken)))


def test_only_null_geometries_give_a_note_instead_of_a_map():
    html = render("items", items_doc([feature("n1", None), feature("n2", None)]), title="T")
    assert "<svg" not in html and "no geometry" in html
    assert f'<a href="{BASE}/collections/roads/items/n1">n1</a>' in html


def test_item_page_shows_properties_and_its_geometry_or_none():
    item = feature("a1", {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, lanes=2)
    item["links"] = [link(f"{BASE}/collections/roads/items/a1?f=json", "alternate")]
    html = render("item", item, title="a1", breadcrumbs=CRUMBS)
    assert '<tr><th scope="row">lanes</th><td>2' in html
    assert svg_of(html).count('class="line"') == 1
    assert f'class="button" href="{BASE}/collections/roads/items/a1?f=json"' in html
    html = render("item", feature("a1", None, lanes=2), title="a1")
    assert_well_formed(html)
    assert "<svg" not in html and "lanes" in html


def test_collection_page_shows_its_extent_as_a_rectangle_split_at_the_antimeridian():
    html = render("collection", collection_doc(), title="Roads")
    svg = svg_of(html)
    rectangle = re.search(r'<path class="area" d="([^"]*)"', svg).group(1)
    assert len(re.findall(r"[ML]", rectangle)) == 5 and rectangle.endswith("Z")
    for text in ("4.2, 50.7, 4.5, 50.95", "2020-01-01T00:00:00Z – ..", "feature"):
        assert text in html
    assert f'<a class="button" href="{BASE}/collections/roads/items">' in html
    svg = svg_of(render("collection", collection_doc(bbox=[170, -10, -170, 10]), title="Pacific"))
    assert svg.count('<path class="area"') == 2


def test_collections_page_links_each_collection_and_its_items():
    doc = {"links": [], "collections": [collection_doc("roads"), collection_doc("trees")]}
    html = render("collections", doc, title="Collections")
    assert f'<a href="{BASE}/collections/trees?f=html">Roads</a>' in html
    assert f'<a href="{BASE}/collections/trees/items">Browse</a>' in html
    assert svg_of(html).count('class="area"') == 2


def test_a_collection_without_extent_renders():
    doc = {"id": "bare", "links": []}
    html = render("collection", doc, title="Bare")
    assert_well_formed(html)
    assert "<svg" not in html
    html = render("collections", {"links": [], "collections": [doc]}, title="All")
    assert '<a href="collections/bare">bare</a>' in html


def test_landing_page_offers_its_main_resources_and_conformance_lists_classes():
    doc = dict(all_pages())["landing"]
    html = render("landing", doc, title="City")
    assert f'<a class="card" href="{BASE}/collections">Collections</a>' in html
    assert f'<a class="card" href="{BASE}/api">API definition</a>' in html
    assert "A gateway" in html
    uri = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
    html = render("conformance", {"conformsTo": [uri]}, title="Conformance")
    assert f'<th scope="row">geojson</th><td><a href="{uri}">{uri}</a></td>' in html


def test_queryables_page_lists_names_types_and_titles():
    doc = {"properties": {
        "lanes": {"type": "integer", "title": "Lanes", "minimum": 1, "description": "Count"},
        "geometry": {"$ref": "https://geojson.org/schema/LineString.json"},
        "kind": {"type": "string", "enum": ["road", "path"]},
    }}  # fmt: skip
    html = render("queryables", doc, title="Queryables")
    assert "<code>lanes</code>" in html and "<code>integer; minimum 1</code>" in html
    assert "<code>LineString</code>" in html and "one of road, path" in html
    assert "<td>Lanes</td>" in html and "<td>Count</td>" in html


def test_api_page_documents_operations_parameters_and_responses_offline():
    html = render("api", OPENAPI, title="API")
    assert_well_formed(html)
    assert '<span class="method">GET</span> <code>/collections/{collectionId}/items</code>' in html
    assert "Fetch features" in html and "getFeatures" in html
    for text in ("<code>limit</code>", "<code>integer; minimum 1; maximum 10000</code>",
                 "Maximum items", "<code>collectionId</code>", "<td>path</td>",
                 "<td>yes</td>", "<code>bbox</code>", "<code>200</code>", "The features",
                 "<code>application/geo+json</code>", "No such collection"):  # fmt: skip
        assert text in html
    assert '<a href="#op-1-get">' in html and 'id="op-1-get"' in html


def test_error_page_shows_status_code_and_description():
    doc = {"code": "InvalidParameterValue", "description": f"bbox: {XSS}", "status": 400}
    html = render("error", doc, title="Bad request")
    assert "HTTP 400" in html and "<code>InvalidParameterValue</code>" in html
    assert "bbox: &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_script_in_properties_ids_and_property_names_is_escaped():
    doc = items_doc([feature(XSS, point(1, 1), **{XSS: XSS, "ok": f'"{XSS}'})])
    html = render("items", doc, title="Roads")
    assert "<script>" not in html and "</script><" not in html  # ours all have attributes
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"/items/{'%3Cscript%3Ealert%281%29%3C%2Fscript%3E'}" in html


def test_script_in_titles_breadcrumbs_and_links_is_escaped():
    doc = collection_doc()
    doc["title"] = doc["description"] = XSS
    doc["links"].append(link("/x", "describedby", "text/html", title=XSS))
    html = render("collection", doc, title=XSS, breadcrumbs=[(XSS, f'/"><{XSS}')])
    assert "<script>" not in html and "</script><" not in html  # ours all have attributes
    assert f"<h1>{XSS.replace('<', '&lt;').replace('>', '&gt;')}</h1>" in html


@pytest.mark.parametrize("kind", ["queryables", "api", "conformance", "landing", "error"])
def test_script_in_any_document_is_escaped(kind):
    docs = {
        "queryables": {"properties": {XSS: {"type": XSS, "title": XSS, "description": XSS}}},
        "api": {"info": {"title": XSS, "description": XSS}, "paths": {XSS: {"get": {
            "summary": XSS, "parameters": [{"name": XSS, "in": XSS, "description": XSS}],
            "responses": {XSS: {"description": XSS}}}}}, "components": {"schemas": {XSS: {}}}},
        "conformance": {"conformsTo": [XSS]},
        "landing": {"title": XSS, "description": XSS, "links": [{"href": XSS, "rel": XSS}]},
        "error": {"code": XSS, "description": XSS, "status": XSS},
    }  # fmt: skip
    html = render(kind, docs[kind], title=XSS, breadcrumbs=[(XSS, XSS)])
    assert "<script>" not in html and "</script><" not in html  # ours all have attributes
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("href", ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:x",
                                  "data:text/html,<script>alert(1)</script>"])  # fmt: skip
def test_links_that_would_run_code_are_neutralised(href):
    doc = items_doc([feature("a", point(1, 1), homepage=href)])
    doc["links"].append(link(href, "related", "text/html", title="Evil"))
    html = render("items", doc, title="Roads", breadcrumbs=[("Evil", href)])
    body = html[html.index("<body>") :]
    assert not re.search(r"href=\"\s*(java|data)", body, re.IGNORECASE)
    assert '<a href="#">Evil</a>' in html


def test_web_urls_in_properties_become_links():
    doc = items_doc([feature("a", point(1, 1), homepage="https://example.org/a?b=1&c=2")])
    html = render("items", doc, title="Roads")
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noreferrer">' in html
