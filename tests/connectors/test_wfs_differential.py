"""The differential test of WFS pushdown: through the gateway's planner, a `wfs`
collection (MapServer 8 over the PostGIS `trees` table, tests/mapserver.py) and a `postgis`
collection over the same table, with the same mapping, answer a corpus of CQL2 filters
(comparisons, LIKE with escapes, BETWEEN, IN, IS NULL, AND/OR/NOT, spatial, temporal) and
sorts identically, paged across the WFS's own pages; the FES elements MapServer received say
exactly which conjuncts were pushed and which stayed in the gateway.

What each pushed construct does on MapServer is shown one level down, with fes.py and
gml.py alone: test_wfs_fes_mapserver.py and test_wfs_gml_mapserver.py.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import pytest
from lxml import etree

from connectors.wfs.fes import (
    FES,
)
from gateway.query.cql2 import parse
from tests.conftest import missing_service
from tests.connectors.wfs_mapserver import (
    TYPES,
    caps_fixture,  # noqa: F401
    features_fixture,  # noqa: F401
    reference,
    wfs_fixture,  # noqa: F401
)
from tests.mapserver import MapServerHandle, mapserver_trees_fixture, start_mapserver  # noqa: F401
from tests.postgis_fixtures import PostGIS, loader, make, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration


# --- through the gateway: the wfs connector and the postgis connector, same table ---------

GATEWAY_CONFIG = """
tenants:
  hamburg:
    collections:
      trees-wfs:
        profile: street-trees
        source:
          connector: wfs
          url: "{wfs}"
          type_name: ms:trees
          id_field: fid
          page_size: 150
          empty_is_null: true
          field_types: {{last_update: date}}
        mapping: {{properties: {{{props}}}}}
      trees-db:
        profile: street-trees
        source:
          connector: postgis
          host: {db.host}
          port: {db.port}
          user: {db.user}
          database: {db.database}
          table: trees
        mapping: {{properties: {{{props}}}}}
"""
PROFILE_FIELDS = [name for name in TYPES if name != "fid"]
EQ, LIKE, NOT = "PropertyIsEqualTo", "PropertyIsLike", "Not"
GATEWAY_CORPUS = [  # (CQL2 filter, every FES element the planner must push; none: residual)
    ("genus = 'Tilia'", {EQ}),
    (
        "genus <> 'Tilia' AND height_m >= 20",
        {"And", "PropertyIsNotEqualTo", "PropertyIsGreaterThanOrEqualTo"},
    ),
    (
        "planting_year < 1960 OR crown_diameter_m > 12",
        {"Or", "PropertyIsLessThan", "PropertyIsGreaterThan"},
    ),
    ("species_scientific LIKE 'Tilia\\_%' OR species_scientific LIKE 'Tilia _%'", {"Or", LIKE}),
    (
        "species_german LIKE '%-%' AND NOT (district IN ('Altona', 'Wandsbek'))",
        {"And", LIKE, NOT, "Or", EQ},
    ),
    ("planting_year BETWEEN 1980 AND 1990", {"PropertyIsBetween"}),
    ("trunk_circumference_cm IN (81, 58, 99)", {"Or", EQ}),
    (
        "NOT (street = 'Kieler Straße 2' OR planting_year < 1950)",
        {NOT, "Or", EQ, "PropertyIsLessThan"},
    ),
    # pushed in part: the conjunct MapServer would answer otherwise stays in the gateway
    ("genus = 'Acer' AND street IS NULL", {EQ}),
    ("district = 'Harburg' AND last_update > DATE('2022-06-15')", {EQ}),
    ("height_m > 10 AND genus > 'Q'", {"PropertyIsGreaterThan"}),
    ("height_m < 8 AND T_AFTER(last_update, DATE('2023-01-01'))", {"PropertyIsLessThan"}),
    ("genus = 'Tilia' AND S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.05, 53.6))", {EQ}),
    # all in the gateway
    ("street IS NULL", set()),
    ("species_scientific > 'Q'", set()),
    ("last_update BETWEEN DATE('2020-01-01') AND DATE('2020-06-30')", set()),
    ("S_DWITHIN(geometry, POINT(10 53.55), 800, meters)", set()),
    ("CASEI(genus) = 'tilia'", set()),
]


@pytest.fixture(scope="module")
def gateway(
    mapserver_trees: MapServerHandle, postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory
):
    from importlib.metadata import entry_points

    from starlette.testclient import TestClient

    from gateway.app import create_app
    from gateway.config import load_config

    if "wfs" not in entry_points(group="twinbridge.connectors").names:
        missing_service("the wfs connector (connectors/wfs, branch i11/wfs) is not installed")
    folder = tmp_path_factory.mktemp("wfs-differential")
    props = ", ".join(f"{f}: {f}" for f in PROFILE_FIELDS)
    text = GATEWAY_CONFIG.format(wfs=mapserver_trees.wfs_url("trees"), db=postgis, props=props)
    (folder / "twinbridge.yaml").write_text(text, encoding="utf-8")
    with TestClient(create_app(load_config(folder / "twinbridge.yaml"))) as client:
        yield client


def walk(client, url: str) -> list[dict[str, Any]]:
    """Every feature, following next links (pages cross the WFS's 150-feature pages)."""
    features: list[dict[str, Any]] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        doc = response.json()
        features += doc["features"]
        url = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), "")
        url = url.split("testserver", 1)[-1]
    return features


def pushed_operators(lines: list[str]) -> set[str]:
    """The FES element names in the FILTER of GetFeature requests."""
    found: set[str] = set()
    for line in lines:
        query = urllib.parse.urlsplit(line.split(" ")[1]).query
        for value in urllib.parse.parse_qs(query).get("FILTER", []):
            root = etree.fromstring(value.encode())
            found |= {
                etree.QName(e).localname for e in root.iter() if etree.QName(e).namespace == FES
            }
    return found - {"Filter", "ValueReference", "Literal", "LowerBoundary", "UpperBoundary"}


def _settled(server: MapServerHandle) -> int:
    """The GetFeature requests logged so far, once the log has not grown for half a second:
    a page the previous test's walk fetched ahead may reach MapServer late on a loaded
    machine (at load 10, more than 0.1 s after the one before), and must not be counted as
    this test's."""
    count, stable = len(server.requests("REQUEST=GetFeature")), 0
    for _ in range(100):
        time.sleep(0.1)
        now = len(server.requests("REQUEST=GetFeature"))
        stable = stable + 1 if now == count else 0
        if stable == 5:
            break
        count = now
    return count


@pytest.mark.parametrize(("text", "operators"), GATEWAY_CORPUS)
def test_the_wfs_collection_answers_as_the_postgis_one_pushing_what_it_may(
    gateway, mapserver_trees: MapServerHandle, text, operators
):
    before = _settled(mapserver_trees)
    query = urllib.parse.urlencode({"filter": text, "limit": 97})
    wfs = walk(gateway, f"/hamburg/collections/trees-wfs/items?{query}")
    sent = mapserver_trees.requests("REQUEST=GetFeature")[before:]
    db = walk(gateway, f"/hamburg/collections/trees-db/items?{query}")
    assert {f["id"]: f for f in wfs} == {f["id"]: f for f in db}
    assert len(wfs) == len(db)
    assert sent, "the WFS was asked"
    got = pushed_operators(sent)
    assert got == operators


def test_the_gateway_corpus_is_not_trivial(features):
    sizes = [len(reference(features, parse(text, "cql2-text"))) for text, _ in GATEWAY_CORPUS]
    assert all(0 < n < len(features) for n in sizes), sizes


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("sortby=planting_year&filter=genus IN ('Tilia', 'Acer')", ["planting_year"]),
        ("sortby=-height_m,genus&filter=district = 'Bergedorf'", ["height_m", "genus"]),
        ("sortby=last_update&filter=height_m > 20", ["last_update"]),
    ],
)
def test_sorted_pages_follow_each_other_as_postgis_sorts(gateway, query, keys):
    wfs = walk(gateway, f"/hamburg/collections/trees-wfs/items?limit=61&{query}")
    db = walk(gateway, f"/hamburg/collections/trees-db/items?limit=61&{query}")

    def order(features: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [tuple(f["properties"][k] for k in keys) for f in features]

    assert order(wfs) == order(db) and len(wfs) > 61  # ties may come in any order
    assert {f["id"]: f for f in wfs} == {f["id"]: f for f in db}
