"""To whom a response counts: (tenant, profile, api) from the matched route's template and
its path parameters, looked up in what the configuration declares. No path or header is
parsed, and an unknown tenant or collection is never a new label (a bounded set)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from gateway.metrics import ROUTE_KEY

FEDERATED = "*"  # the federated root, and routes of no tenant (/catalog, /)
NO_PROFILE = "none"
FEATURES, SENSORTHINGS, CATALOG, OTHER = "features", "sensorthings", "catalog", "other"


def templates(routes: Iterable[BaseRoute], api: str) -> dict[str, str]:
    return {r.path: api for r in routes if isinstance(r, Route)}


class Attribution:
    """`apis`: route template -> api (routes not named are not counted: probes, /metrics,
    static files); `profiles`: (tenant or '*', collection id) -> profile id;
    `sta_profiles`: tenant -> the one SensorThings profile it declares."""

    def __init__(
        self,
        apis: Mapping[str, str],
        tenants: Iterable[str],
        profiles: Mapping[tuple[str, str], str],
        sta_profiles: Mapping[str, str],
    ) -> None:
        self.apis = dict(apis)
        self.tenants = frozenset(tenants)
        self.profiles = dict(profiles)
        self.sta_profiles = dict(sta_profiles)

    def __call__(self, scope: Scope) -> tuple[str, str, str] | None:
        api = self.apis.get(scope.get(ROUTE_KEY, ""))
        if api is None:
            return None
        params = scope.get("path_params") or {}
        tenant = params.get("tenant", FEDERATED)
        if tenant != FEDERATED and tenant not in self.tenants:
            return None
        profile = NO_PROFILE
        if api == FEATURES and "cid" in params:
            profile = self.profiles.get((tenant, params["cid"]), NO_PROFILE)
        elif api == SENSORTHINGS:
            profile = self.sta_profiles.get(tenant, NO_PROFILE)
        return tenant, profile, api
