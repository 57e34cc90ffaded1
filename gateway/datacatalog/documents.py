"""The `/catalog` JSON document: profiles, tenants and one entry per dataset (a cell of
the matrix profiles × tenants) with its links and the cached figures, or 'pending'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.datacatalog.cells import FEATURES, Dataset
from gateway.features.links import GEOJSON, HTML, JSON, link, profile_uri
from profiles import Profile

STA_VERSION = "v1.1"


@dataclass(frozen=True)
class Tenant:
    id: str
    title: str


def profile_url(root: str, profile: Profile) -> str:
    """Where this gateway publishes a profile version (its metadata and schema)."""
    return profile_uri(root, profile.id, profile.version)


def dataset_links(root: str, d: Dataset) -> list[dict[str, str]]:
    """Where a client reads the dataset: the tenant's collection (and its items) or
    SensorThings Datastreams, and the federated collection it joins."""
    if d.kind == FEATURES:
        collection = f"{root}/{d.tenant}/collections/{d.collection}"
        return [
            link(collection, "collection", JSON, "The tenant's collection"),
            link(f"{collection}?f=html", "alternate", HTML, "The tenant's collection as HTML"),
            link(f"{collection}/items", "items", GEOJSON, "Its items"),
            link(f"{root}/collections/{d.profile.id}", "related", JSON, "Federated collection"),
            link(profile_url(root, d.profile), "describedby", JSON, "The profile"),
        ]
    sta = f"{root}/{d.tenant}/sta/{STA_VERSION}"
    return [
        link(f"{sta}/Datastreams", "data", JSON, "The tenant's SensorThings Datastreams"),
        link(f"{root}/sta/{STA_VERSION}/Datastreams", "related", JSON, "Federated Datastreams"),
        link(profile_url(root, d.profile), "describedby", JSON, "The profile"),
    ]


def dataset_doc(root: str, d: Dataset, figures: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": d.key,
        "profile": d.profile.id,
        "profileVersion": d.profile.version,
        "tenant": d.tenant,
        "kind": d.kind,
        "title": d.title,
        "links": dataset_links(root, d),
    }
    if d.collection is not None:
        doc["collection"] = d.collection
    doc.update(figures or {"status": "pending"})
    doc.setdefault("conformance", {"status": "pending"})
    target = doc["conformance"].get("target")
    if target:
        href = f"{root}/{target}"
        title = f"What the {doc['conformance'].get('suite', 'profile')} suite checked"
        doc["conformance"] = {**doc["conformance"], "links": [link(href, "related", JSON, title)]}
    return doc


def profile_doc(root: str, profile: Profile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "version": profile.version,
        "title": profile.title,
        "kind": profile.kind,
        "href": profile_url(root, profile),
    }


def catalog_doc(
    root: str,
    title: str,
    all_profiles: list[Profile],
    tenants: list[Tenant],
    datasets: list[Dataset],
    figures: dict[str, dict[str, Any]],
    state: dict[str, Any],
) -> dict[str, Any]:
    """The document; `state` says how the cache is kept (schedule, last round)."""
    return {
        "title": title,
        "description": "Which tenant delivers which profile, and in what quality. Figures "
        "are computed in the background; a dataset not computed yet is 'pending'.",
        **state,
        "profiles": [profile_doc(root, p) for p in all_profiles],
        "tenants": [{"id": t.id, "title": t.title, "href": f"{root}/{t.id}/"} for t in tenants],
        "datasets": [dataset_doc(root, d, figures.get(d.key)) for d in datasets],
    }
