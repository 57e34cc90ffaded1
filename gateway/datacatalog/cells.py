"""The datasets of the catalog: one per tenant collection that has a profile, and one per
tenant and SensorThings profile its SensorThings service declares. Found once at start-up
from the catalog and the configuration, for any number of profiles and tenants."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import profiles
from gateway.catalog import Catalog, CollectionSource
from gateway.config import LoadedConfig
from profiles import Profile

FEATURES = "features"
SENSORTHINGS = "sensorthings"


@dataclass(frozen=True)
class Dataset:
    """One cell entry of the matrix profiles × tenants (a cell may hold several)."""

    profile: Profile
    tenant: str
    kind: str  # features | sensorthings
    collection: str | None  # the tenant's collection id (features)
    title: str
    description: str
    keywords: tuple[str, ...] = ()
    source: CollectionSource | None = None

    @property
    def key(self) -> str:
        """Unique and stable: `hamburg/strassenbaeume` or `leipzig/sta/air-quality`."""
        if self.kind == FEATURES:
            return f"{self.tenant}/{self.collection}"
        return f"{self.tenant}/sta/{self.profile.id}"


def _profile_names(node: Any) -> Iterator[str]:
    """Every `profile: <id>` in a (dumped) configuration block, however deep: where a
    SensorThings source names its profile (a sync, an import) is that source's business."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "profile" and isinstance(value, str):
                yield value
            else:
                yield from _profile_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _profile_names(value)


def _sensorthings_datasets(loaded: LoadedConfig) -> list[Dataset]:
    found: list[Dataset] = []
    for tid, tenant in loaded.config.tenants.items():
        if tenant.sensorthings is None:
            continue
        block = tenant.sensorthings.model_dump(mode="json")
        for pid in dict.fromkeys(_profile_names(block)):
            try:
                profile = profiles.get(pid)
            except (LookupError, profiles.ProfileError):
                continue  # the SensorThings configuration reports it at start-up
            if profile.kind != SENSORTHINGS:
                continue
            title = tenant.sensorthings.title or f"{profile.title} ({tenant.title or tid})"
            found.append(Dataset(profile, tid, SENSORTHINGS, None, title, profile.description))
    return found


def datasets(catalog: Catalog, loaded: LoadedConfig) -> list[Dataset]:
    """Every dataset, ordered by profile, then tenant as configured. A tenant whose reading
    is not public (`access.public_read: false`) is left out, as from the federated root."""
    found = [
        Dataset(
            source.profile,
            source.tenant,
            FEATURES,
            source.id,
            source.title,
            source.description,
            tuple(source.cfg.keywords),
            source,
        )
        for source in catalog.sources()
        if source.profile is not None
    ]
    found += _sensorthings_datasets(loaded)
    tenants = loaded.config.tenants
    found = [d for d in found if tenants[d.tenant].access.public_read]
    order = {tid: i for i, tid in enumerate(tenants)}
    return sorted(found, key=lambda d: (d.profile.id, order.get(d.tenant, 0)))
