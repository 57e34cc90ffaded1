"""Every pushdown path answers exactly like the reference evaluation.

München's demo trees are served three ways, all with the demo's mapping (codes, unit
factors, a template, a date cast): from memory (`geopackage`, in_memory), as SQL per request
(`geopackage`, in_memory: false) and from PostGIS (the same table copied by ogr2ogr). For
hundreds of generated CQL2 filters over the profile's queryables, each path must return the
very ids that a pure in-process evaluation of the filter over the mapped features selects.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from gateway.query.cql2 import parse
from gateway.query.evaluate import compile_predicate
from tests.conftest import require_command
from tests.postgis_fixtures import PostGIS, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration
DEMO_YAML = Path(__file__).resolve().parent.parent / "gateway" / "demo" / "demo.yaml"
PATHS = ("memory", "sqlite", "postgis")


@pytest.fixture(scope="module")
def client(demo_dir: Path, postgis: PostGIS) -> TestClient:
    require_command("ogr2ogr")
    gpkg = demo_dir / "muenchen.gpkg"
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "PostgreSQL",
            f"PG:host={postgis.host} port={postgis.port} user={postgis.user} "
            f"dbname={postgis.database}",
            str(gpkg),
            "baeume",
            "-nln",
            "baeume_muc",
            "-lco",
            "GEOMETRY_NAME=geom",
            "-lco",
            "FID=fid",
            "-overwrite",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    demo = yaml.safe_load(DEMO_YAML.read_text())
    base = demo["tenants"]["muenchen"]["collections"]["baeume"]
    sources = {
        "memory": {"connector": "geopackage", "path": str(gpkg), "table": "baeume"},
        "sqlite": {
            "connector": "geopackage",
            "path": str(gpkg),
            "table": "baeume",
            "in_memory": False,
        },
        "postgis": {"connector": "postgis", **postgis.options("baeume_muc")},
    }
    tenants = {}
    for name, source in sources.items():
        collection = copy.deepcopy(base)
        collection["source"] = source
        tenants[name] = {"collections": {"baeume": collection}}
    # What each path selects is under test, not what it costs: no scan budget, so that a
    # busy machine cannot turn a residual into a 400 QueryTooCostly.
    server = {"query": {"scan_seconds": 0}}
    loaded = parse_config({"server": server, "tenants": tenants}, "differential.yaml", demo_dir)
    with TestClient(create_app(loaded)) as c:
        yield c


@pytest.fixture(scope="module")
def reference(client: TestClient) -> list[dict]:
    doc = client.get("/memory/collections/baeume/items?limit=10000").json()
    assert doc["numberMatched"] == len(doc["features"]) > 1000
    return doc["features"]


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


GENERA = [
    "Tilia",
    "Acer",
    "Quercus",
    "Platanus",
    "Aesculus",
    "Betula",
    "Fraxinus",
    "Robinia",
    "Nope",
]
DISTRICTS = ["Altstadt-Lehel", "Maxvorstadt", "Schwabing-West", "Au-Haidhausen", "Pasing"]
numbers = {
    "planting_year": st.integers(1900, 2030),
    "height_m": st.sampled_from([0, 3.5, 8, 12.25, 15, 20, 30.7]),
    "crown_diameter_m": st.sampled_from([0, 2, 4.4, 6, 9.5, 12]),
    "trunk_circumference_cm": st.sampled_from([0, 50, 99.5, 120, 200, 314]),
}
comparison = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])
HUGE = "99999999999999999999999"  # beyond bigint: once read every row into the gateway
EDGES = [
    f"planting_year > {HUGE}",
    f"planting_year < -{HUGE}",
    f"planting_year <> {HUGE}",
    "planting_year = 1990.5",
    "planting_year > 1990.5",
    f"planting_year IN (1990.5, 2000, {HUGE})",
    f"planting_year BETWEEN 1990.5 AND {HUGE}",
    f"height_m > {HUGE}",
    f"height_m <= {HUGE}",
    "trunk_circumference_cm < 1e300",
    "crown_diameter_m > 2^2000",  # null: unknown for every tree
]


@st.composite
def predicates(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(
            ["num", "genus", "district", "like", "in", "between", "null", "bbox", "date", "species"]
            + ["edge"]
        )
    )
    if kind == "edge":
        return draw(st.sampled_from(EDGES))
    if kind == "num":
        prop = draw(st.sampled_from(sorted(numbers)))
        return f"{prop} {draw(comparison)} {draw(numbers[prop])}"
    if kind == "genus":
        return f"genus {draw(st.sampled_from(['=', '<>']))} {quoted(draw(st.sampled_from(GENERA)))}"
    if kind == "district":
        return f"district = {quoted(draw(st.sampled_from(DISTRICTS)))}"
    if kind == "like":
        pattern = draw(st.sampled_from(["Tilia%", "%platanoides", "Acer _%", "%a%", "Q%"]))
        return f"species_scientific LIKE {quoted(pattern)}"
    if kind == "in":
        chosen = draw(st.lists(st.sampled_from(GENERA), min_size=1, max_size=3, unique=True))
        return f"genus IN ({', '.join(quoted(g) for g in chosen)})"
    if kind == "between":
        low = draw(st.integers(1900, 2000))
        return f"planting_year BETWEEN {low} AND {low + draw(st.integers(0, 40))}"
    if kind == "null":
        prop = draw(st.sampled_from(["planting_year", "height_m", "street"]))
        return f"{prop} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if kind == "bbox":
        x, y = draw(st.floats(11.4, 11.7)), draw(st.floats(48.05, 48.25))
        return f"S_INTERSECTS(geometry, BBOX({x:.4f}, {y:.4f}, {x + 0.05:.4f}, {y + 0.04:.4f}))"
    if kind == "date":
        return f"last_update {draw(comparison)} DATE('{draw(st.integers(2019, 2024))}-06-15')"
    return f"species_german = {quoted(draw(st.sampled_from(['Winter-Linde', 'Spitz-Ahorn'])))}"


@st.composite
def filters(draw: st.DrawFn) -> str:
    terms = draw(st.lists(predicates(), min_size=1, max_size=3))
    joiner = draw(st.sampled_from([" AND ", " OR "]))
    text = joiner.join(f"({t})" for t in terms)
    return f"NOT ({text})" if draw(st.booleans()) and len(terms) == 1 else text


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=filters())
def test_every_path_selects_what_the_reference_evaluation_selects(client, reference, text):
    test = compile_predicate(parse(text, "cql2-text"))
    expected = sorted(str(f["id"]) for f in reference if test(f))
    for path in PATHS:
        response = client.get(
            f"/{path}/collections/baeume/items", params={"filter": text, "limit": 10000}
        )
        assert response.status_code == 200, (path, text, response.text)
        doc = response.json()
        got = sorted(str(f["id"]) for f in doc["features"])
        assert got == expected, (path, text)
        if "numberMatched" in doc:
            assert doc["numberMatched"] == len(expected), (path, text)
