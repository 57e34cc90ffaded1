"""Builds the usage KPIs for an application: which route template is which API, which
collection is which profile, from the facades and the catalog's datasets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute

from gateway.config import LoadedConfig
from gateway.usage.attribution import (
    CATALOG,
    FEATURES,
    FEDERATED,
    OTHER,
    SENSORTHINGS,
    Attribution,
    templates,
)
from gateway.usage.service import Usage


def build_usage(
    loaded: LoadedConfig,
    features: Any,
    routes: dict[str, Iterable[BaseRoute]],
    datasets: Iterable[Any],
) -> Usage:
    """`routes`: the routes of each API (features, sensorthings, catalog, other)."""
    apis: dict[str, str] = {}
    for api in (OTHER, CATALOG, FEATURES, SENSORTHINGS):
        apis.update(templates(routes.get(api, ()), api))
    profiles = {(FEDERATED, pid): pid for pid in features.root.collections}
    for tid, view in features.tenants.items():
        for cid, c in view.collections.items():
            if c.profile is not None:
                profiles[(tid, cid)] = c.profile.id
    declared: dict[str, set[str]] = defaultdict(set)
    for d in datasets:
        if d.kind == SENSORTHINGS:
            declared[d.tenant].add(d.profile.id)
    # A tenant's SensorThings answers count to its profile when it declares one; with
    # several, which one a request reads is not known from the route: 'none'.
    sta = {tid: next(iter(pids)) for tid, pids in declared.items() if len(pids) == 1}
    attribution = Attribution(apis, loaded.config.tenants, profiles, sta)
    return Usage.from_config(loaded, attribution)
