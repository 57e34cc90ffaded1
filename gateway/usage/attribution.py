"""To whom a response counts: (tenant, profile, api) from the matched route's template and
its path parameters, looked up in what the configuration declares (and, for a SensorThings
path through a Datastream, what the catalog learnt of its profile, the path read by the
facade's own parser). No URL or header is picked apart ad hoc, and an unknown tenant or
collection is never a new label (a bounded set)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from gateway.errors import GatewayError
from gateway.metrics import ROUTE_KEY
from gateway.sensorthings.paths import parse_path

FEDERATED = "*"  # the federated root, and routes of no tenant (/catalog, /)
NO_PROFILE = "none"
FEATURES, SENSORTHINGS, CATALOG, OTHER = "features", "sensorthings", "catalog", "other"


def templates(routes: Iterable[BaseRoute], api: str) -> dict[str, str]:
    return {r.path: api for r in routes if isinstance(r, Route)}


class Attribution:
    """`apis`: route template -> api (routes not named are not counted: probes, /metrics,
    static files); `profiles`: (tenant or '*', collection id) -> profile id;
    `sta_profiles`: tenant -> the one SensorThings profile it declares. A SensorThings path
    through a Datastream counts to that Datastream's profile once the catalog's background
    figures have seen it declare one (`learn`)."""

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
        self.datastreams: dict[tuple[str, object], str] = {}

    def learn(self, tenant: str, profile: str, ids: Iterable[object]) -> None:
        """The Datastreams of a tenant that declare `profile` (properties.profile)."""
        stale = [k for k, p in self.datastreams.items() if k[0] == tenant and p == profile]
        for key in stale:
            del self.datastreams[key]
        for i in ids:
            self.datastreams[(tenant, i)] = profile

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
            profile = self._sta_profile(tenant, params.get("path", ""))
        return tenant, profile, api

    def _sta_profile(self, tenant: str, path: str) -> str:
        datastream = _datastream(path) if self.datastreams else None
        if datastream is not None:
            key: tuple[str, object] = (tenant, datastream)
            if tenant == FEDERATED and isinstance(datastream, str):
                member, _, local = datastream.partition(":")  # federated ids: hamburg:7
                key = (member, int(local) if local.isdigit() else local)
            found = self.datastreams.get(key)
            if found is not None:
                return found
        return self.sta_profiles.get(tenant, NO_PROFILE)


def _datastream(path: str) -> object:
    """The id of the Datastream a SensorThings path goes through (`Datastreams(7)/
    Observations`, `Things(1)/Datastreams(7)`), read by the facade's own path parser."""
    try:
        segments = parse_path(path).segments
    except GatewayError:
        return None
    return next((s.id for s in segments if s.type.name == "Datastream" and s.id is not None), None)
