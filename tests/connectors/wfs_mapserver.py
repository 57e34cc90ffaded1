"""Shared parts of the WFS tests against MapServer: the trees' source types, the WFS and
its capabilities, the trees as the postgis connector reads them, and the requests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import SourceQuery
from connectors.remote.xml import parse_xml
from connectors.wfs.fes import FES, parse_filter_capabilities, render_filter
from gateway.query.evaluate import compile_predicate
from tests.mapserver import MapServerHandle
from tests.postgis_fixtures import PostGIS, make

DATA = Path(__file__).parent / "wfs_data"
STORAGE = "EPSG:25832"
TOLERANCE = 0.05  # metres: the spatial corpus keeps every tree 25 cm from its edges
TYPES: dict[str, Any] = {
    "fid": "integer",
    "species_scientific": "string",
    "species_german": "string",
    "genus": "string",
    "planting_year": "integer",
    "height_m": "number",
    "crown_diameter_m": "number",
    "trunk_circumference_cm": "integer",
    "district": "string",
    "street": "string",
    "last_update": "date",
}


@pytest.fixture(scope="module", name="wfs")
def wfs_fixture(mapserver_trees: MapServerHandle) -> str:
    return mapserver_trees.wfs_url("trees")


@pytest.fixture(scope="module", name="caps")
def caps_fixture(wfs: str):
    answer = httpx.get(f"{wfs}&SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0", timeout=30)
    return parse_filter_capabilities(parse_xml(answer.content))


@pytest.fixture(scope="module", name="features")
def features_fixture(postgis: PostGIS) -> list[dict[str, Any]]:
    """The trees as the postgis connector reads them, as features for the evaluator."""

    async def load() -> list[dict[str, Any]]:
        connector = make(postgis, "trees")
        await connector.open()
        try:
            result = await connector.query(SourceQuery())
            return [r async for r in result.records]
        finally:
            await connector.close()

    records = asyncio.run(load())
    return [{"type": "Feature", **r} for r in records]


def reference(features: list[dict[str, Any]], expr) -> list[int]:
    test = compile_predicate(expr, types=TYPES)
    return sorted(int(f["id"]) for f in features if test(f))


def get_feature(wfs: str, **params: str) -> httpx.Response:
    query = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature"}
    query |= {"TYPENAMES": "ms:trees", "OUTPUTFORMAT": "geojson", **params}
    return httpx.get(httpx.URL(wfs).copy_merge_params(query), timeout=60)


def selected(wfs: str, filter_xml: str, **params: str) -> list[int]:
    answer = get_feature(wfs, FILTER=filter_xml, **params)
    assert answer.text.lstrip().startswith("{"), answer.text[:500]
    return [f["properties"]["fid"] for f in answer.json()["features"]]


def render(expr, caps, **options) -> str:
    return render_filter(
        expr, geometry_name="msGeometry", crs=STORAGE, caps=caps, types=TYPES, **options
    )


def naive_filter(op: str, prop: str, literal: str) -> str:
    """A comparison written as a client unaware of MapServer's quirks would write it."""
    return (
        f'<fes:Filter xmlns:fes="{FES}"><fes:{op}><fes:ValueReference>{prop}'
        f"</fes:ValueReference><fes:Literal>{literal}</fes:Literal></fes:{op}></fes:Filter>"
    )


__all__ = [
    "DATA",
    "STORAGE",
    "TOLERANCE",
    "TYPES",
    "caps_fixture",
    "features_fixture",
    "get_feature",
    "naive_filter",
    "reference",
    "render",
    "selected",
    "wfs_fixture",
]
