"""Filters and sorts on computed (`difference`, `sum`, `max`, `collect`) and defaulted
properties select and order exactly what evaluating them on the mapped features does,
whether the GeoPackage answers from memory or as SQL with part of the filter pushed down."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
import shapely
from starlette.testclient import TestClient

from connectors.geopackage import GeoPackageConnector
from gateway.app import create_app
from gateway.config import parse_config
from gateway.demo.gpkg import PointTable, write_features
from gateway.mapping import Mapper, Mapping
from gateway.planning.planner import plan
from gateway.query.cql2 import parse
from gateway.query.evaluate import compile_predicate
from gateway.query.model import Query
from gateway.query.sorting import sort_features

COLUMNS = (
    ("obj_id", "TEXT"),
    ("top", "REAL"),
    ("ground", "REAL"),
    ("p1", "REAL"),
    ("p2", "REAL"),
    ("p3", "REAL"),
    ("s1", "TEXT"),
    ("s2", "TEXT"),
    ("art", "INTEGER"),
    ("zugang", "TEXT"),
    ("storeys", "INTEGER"),
    ("name", "TEXT"),
)
MAPPING = {
    "id": "obj_id",
    "properties": {
        "height": {"difference": ["top", "ground"], "type": "number"},
        "total": {"sum": ["p1", "p2", "p3"]},
        "peak": {"max": ["p1", "p2", "p3"]},
        "plugs": {"collect": ["s1", "s2"], "split": ","},
        "access": {"from": "art", "codes": {"1": "public", "2": "customers"}, "default": "unknown"},
        "entry": {
            "from": "zugang",
            "codes": {"öffentlich": "public", "Kunden": "customers"},
            "default": "unknown",
        },
        "storeys": {"from": "storeys", "type": "integer", "default": 1},
        "name": {"from": "name", "default": "unbenannt"},
    },
}
PATHS = ("memory", "sql")


def _row(rng: random.Random, n: int) -> tuple:
    ground = round(rng.uniform(500, 540), 2)
    top = rng.choice([round(ground + rng.uniform(3, 30), 2), None, "n/a"])
    p = [rng.choice([11.0, 22.0, 50.0, None]) for _ in range(3)]
    return (
        f"B{n:04d}",
        top,
        ground,
        *p,
        rng.choice(["Typ 2", "CCS, CHAdeMO", "", None]),
        rng.choice(["Typ 2, CCS", None]),
        rng.choice([1, 2, 3, 9, None]),
        rng.choice(["öffentlich", "Kunden", "privat", "", None]),
        rng.choice([1, 2, 3, 5, None]),
        rng.choice(["Lindenhof", "unbenannt", "", None, "Uferweg"]),
    )


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(13)
    path = tmp_path_factory.mktemp("computed") / "computed.gpkg"
    rows = [(shapely.Point(690000 + n, 5334000 + n), _row(rng, n)) for n in range(400)]
    table = PointTable("objekte", "Objekte", "computed properties", COLUMNS)
    write_features(path, table, rows)
    return path


@pytest.fixture(scope="module")
def client(gpkg: Path):
    source = {"connector": "geopackage", "path": str(gpkg), "table": "objekte"}
    tenants = {
        name: {
            "collections": {
                "objekte": {
                    "source": {**source, "in_memory": name == "memory"},
                    "mapping": MAPPING,
                }
            }
        }
        for name in PATHS
    }
    server = {"query": {"scan_seconds": 0}}
    loaded = parse_config({"server": server, "tenants": tenants}, "computed.yaml", gpkg.parent)
    with TestClient(create_app(loaded)) as c:
        yield c


@pytest.fixture(scope="module")
def reference(client: TestClient) -> list[dict]:
    doc = client.get("/memory/collections/objekte/items?limit=1000").json()
    assert len(doc["features"]) == 400
    return doc["features"]


FILTERS = [
    "height > 10",
    "height IS NULL",
    "NOT (height <= 10)",
    "total >= 30",
    "peak = 22",
    "access = 'unknown'",
    "access <> 'unknown'",
    "access IN ('public', 'unknown')",
    "NOT (access = 'unknown')",
    "access IS NULL",
    "entry = 'unknown'",
    "entry = 'public'",
    "NOT (entry = 'public')",
    "NOT (entry = 'unknown')",
    "storeys = 1",
    "storeys > 1",
    "storeys < 2",
    "NOT (storeys = 1)",
    "storeys BETWEEN 1 AND 3",
    "storeys IS NULL",
    "storeys IS NOT NULL",
    "name = 'unbenannt'",
    "name <> 'unbenannt'",
    "name LIKE 'U%'",
    "NOT (name = 'Lindenhof')",
    "access = 'unknown' OR storeys = 1",
    "height > 10 AND access = 'public'",
    "storeys = 1 AND NOT (entry = 'customers')",
]


@pytest.mark.parametrize("text", FILTERS)
def test_filters_select_what_evaluating_the_mapped_features_selects(client, reference, text):
    test = compile_predicate(parse(text, "cql2-text"))
    expected = sorted(f["id"] for f in reference if test(f))
    for path in PATHS:
        response = client.get(
            f"/{path}/collections/objekte/items", params={"filter": text, "limit": 1000}
        )
        assert response.status_code == 200, (path, text, response.text)
        got = sorted(f["id"] for f in response.json()["features"])
        assert got == expected, (path, text)


@pytest.mark.parametrize("sortby", ["height", "-total", "peak", "storeys", "-storeys", "name"])
def test_sorts_order_as_sorting_the_mapped_features_does(client, reference, sortby):
    name = sortby.lstrip("-")
    expected = [
        f["properties"][name]
        for f in sort_features(list(reference), [(name, not sortby.startswith("-"))])
    ]
    for path in PATHS:
        response = client.get(
            f"/{path}/collections/objekte/items", params={"sortby": sortby, "limit": 1000}
        )
        assert response.status_code == 200, (path, sortby, response.text)
        got = [f["properties"][name] for f in response.json()["features"]]
        assert got == expected, (path, sortby)


@pytest.fixture(scope="module")
def sql(gpkg: Path) -> tuple[GeoPackageConnector, Mapper, dict[str, str]]:
    connector = GeoPackageConnector(
        GeoPackageConnector.Config(path=str(gpkg), table="objekte", in_memory=False),
        base_dir=gpkg.parent,
        name="t/objekte",
    )
    fields = {f.name: f.type for f in asyncio.run(connector.describe()).fields}
    return connector, Mapper(Mapping.model_validate(MAPPING)), fields


@pytest.mark.parametrize(
    ("text", "pushed", "residual"),
    [
        ("height > 10", False, True),  # two columns: evaluated after mapping
        ("total >= 30", False, True),
        ("storeys = 1", True, False),  # pushed as storeys = 1 OR storeys IS NULL
        ("access = 'unknown'", True, False),  # pushed as NOT IN the other codes, or null
        ("name = 'unbenannt'", True, False),  # null and '' map to the default too
        ("storeys = 1 AND height > 10", True, True),
    ],
)
def test_computed_properties_stay_residual_and_defaults_push_down(sql, text, pushed, residual):
    connector, mapper, fields = sql
    p = plan(connector.capabilities(), mapper, Query(10, filter=parse(text, "cql2-text")), fields)
    assert (p.pushed.filter is not None) == pushed
    assert (p.residual.filter is not None) == residual


def test_sorts_on_defaulted_or_computed_properties_are_not_pushed(sql):
    connector, mapper, fields = sql
    for name in ("storeys", "height", "total", "name"):
        p = plan(connector.capabilities(), mapper, Query(10, sortby=((name, True),)), fields)
        assert not p.sorted_by_source and p.pushed.sortby == ()


def test_a_value_that_is_no_number_is_counted_per_source_and_field(client, reference):
    metrics = client.get("/metrics").text
    line = next(
        (
            line
            for line in metrics.splitlines()
            if line.startswith("twinbridge_data_quality_total")
            and 'source="memory/objekte"' in line
            and 'field="top"' in line
        ),
        None,
    )
    assert line is not None and 'problem="not a number"' in line
    assert float(line.rsplit(" ", 1)[1]) > 0
