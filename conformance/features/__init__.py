"""The OGC API – Features suite: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2 (CRS
by reference) and Part 3 (queryables, filtering with CQL2). Importing it registers the
checks; see `conformance.features.names` for the identifiers."""

from __future__ import annotations

import importlib

from conformance.context import HOOKS, SuiteHooks, Test, exact_match
from conformance.features.api import declared, feature_collection_ids
from conformance.registry import FEATURES

# Importing a module registers its checks; this order is the order of the report.
MODULES = (
    "discovery",
    "collections",
    "items",
    "params",
    "feature",
    "html",
    "oas30",
    "paging",
    "results",
    "temporal",
    "crs",
    "crs_bbox",
    "filter",
)
for _name in MODULES:
    importlib.import_module(f"conformance.features.{_name}")


async def _subjects(t: Test) -> list[str]:
    return await feature_collection_ids(t)


HOOKS[FEATURES] = SuiteHooks(declared=declared, subjects=_subjects, matches=exact_match)
