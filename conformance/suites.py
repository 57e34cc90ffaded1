"""The modules that hold the checks, in report order, and `load_all()`, which imports them.

This sits on top, with the runner and the CLI: each suite module depends on the registry
and the context below it, and nothing below imports a suite. Importing by name keeps the
order declared here (an import block would be sorted alphabetically)."""

from __future__ import annotations

import importlib

from conformance.registry import REGISTRY, Registry

# Importing a module registers its checks; this order is the order of the report.
MODULES = (
    # OGC API – Features: Part 1, Part 2 (CRS by reference), Part 3 (queryables, CQL2)
    "conformance.features.discovery",
    "conformance.features.collections",
    "conformance.features.items",
    "conformance.features.params",
    "conformance.features.feature",
    "conformance.features.html",
    "conformance.features.oas30",
    "conformance.features.paging",
    "conformance.features.results",
    "conformance.features.temporal",
    "conformance.features.crs",
    "conformance.features.crs_bbox",
    "conformance.features.filter",
    # Features Part 4 (create, replace, update, delete): only with --allow-writes
    "conformance.features.crud",
    "conformance.features.crud_errors",
    # profile conformance
    "conformance.profile",
    # SensorThings API 1.1
    "conformance.sensorthings.core",
    "conformance.sensorthings.filtering",
    "conformance.sensorthings.filters",
    "conformance.sensorthings.cud",
    "conformance.sensorthings.cud_errors",
    "conformance.sensorthings.mqtt",
    # SensorThings profile conformance
    "conformance.sensorthings.profile",
)


def load_all() -> Registry:
    """Import every suite module so that its checks register themselves."""
    for name in MODULES:
        importlib.import_module(name)
    return REGISTRY
