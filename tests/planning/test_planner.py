"""The planner pushes what the source can run and keeps the rest, on München's mapping."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from connectors.geopackage import GeoPackageConnector
from gateway.mapping import Mapper, Mapping
from gateway.planning.planner import plan
from gateway.query.cql2 import parse
from gateway.query.model import Query
from tests.postgis_fixtures import PostGIS, make, postgis_fixture  # noqa: F401

DEMO_YAML = Path(__file__).resolve().parents[2] / "gateway" / "demo" / "demo.yaml"


@pytest.fixture(scope="module")
def muenchen(demo_dir: Path):
    config = yaml.safe_load(DEMO_YAML.read_text())["tenants"]["muenchen"]["collections"]["baeume"]
    connector = GeoPackageConnector(
        GeoPackageConnector.Config(
            path=str(demo_dir / "muenchen.gpkg"), table="baeume", in_memory=False
        ),
        base_dir=demo_dir,
        name="muenchen/baeume",
    )
    description = asyncio.run(connector.describe())
    fields = {f.name: f.type for f in description.fields}
    return connector, Mapper(Mapping.model_validate(config["mapping"])), fields


@pytest.mark.parametrize(
    ("text", "pushed", "residual"),
    [
        ("planting_year > 1990", True, False),  # a rename
        ("genus = 'Tilia'", True, False),  # a code list, inverted to its code
        ("street = 'Leopoldstraße 12'", False, True),  # a template cannot be inverted
        ("planting_year > 1990 AND street IS NULL", True, True),  # split per conjunct
        ("CASEI(species_german) = 'winter-linde'", False, True),  # not exact in SQL
    ],
)
def test_filters_are_split_between_source_and_gateway(muenchen, text, pushed, residual):
    connector, mapper, fields = muenchen
    query = Query(limit=10, filter=parse(text, "cql2-text"))
    p = plan(connector.capabilities(), mapper, query, fields)
    assert (p.pushed.filter is not None) == pushed
    assert (p.residual.filter is not None) == residual


def test_sort_is_pushed_only_for_plain_renames(muenchen):
    connector, mapper, fields = muenchen
    by_year = plan(
        connector.capabilities(), mapper, Query(10, sortby=(("planting_year", False),)), fields
    )
    assert by_year.pushed.sortby == (("pflanzjahr", False),) and by_year.sorted_by_source
    by_genus = plan(connector.capabilities(), mapper, Query(10, sortby=(("genus", True),)), fields)
    assert by_genus.pushed.sortby == () and not by_genus.sorted_by_source


HUGE = "99999999999999999999999"  # beyond bigint; the parser reads it as the double 1e23
EDGES = [
    f"planting_year > {HUGE}",
    f"planting_year <= -{HUGE}",
    "planting_year = 1990.5",
    "planting_year IN (1990.5, 2000)",
    f"height_m > {HUGE}",
    "height_m < 1e300",
    "height_m > 2^2000",  # folds to null: unknown for every tree
]


@pytest.mark.parametrize("text", EDGES)
def test_literals_beyond_a_columns_type_are_pushed_not_scanned(muenchen, text):
    connector, mapper, fields = muenchen
    p = plan(connector.capabilities(), mapper, Query(10, filter=parse(text, "cql2-text")), fields)
    assert p.pushed.filter is not None and p.residual.filter is None


@pytest.fixture(scope="module")
def trees(postgis: PostGIS):
    connector = make(postgis, "trees")

    async def describe() -> dict[str, str]:
        try:
            await connector.open()
            return {f.name: f.type for f in (await connector.describe()).fields}
        finally:
            await connector.close()

    fields = asyncio.run(describe())  # the table's layout stays known after closing
    names = [n for n in fields if n not in ("fid", "geom")]
    mapping = Mapping.model_validate({"id": "fid", "properties": {n: n for n in names}})
    return connector, Mapper(mapping), fields


@pytest.mark.integration
@pytest.mark.parametrize("text", [f"{t} AND genus = 'Tilia'" for t in EDGES])
def test_postgis_is_asked_for_literals_beyond_its_columns_types(trees, text):
    connector, mapper, fields = trees
    p = plan(connector.capabilities(), mapper, Query(10, filter=parse(text, "cql2-text")), fields)
    assert p.pushed.filter is not None and p.residual.filter is None
