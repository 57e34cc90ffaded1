"""`/catalog` as DCAT-AP (with the DCAT-AP.de extensions) in JSON-LD, for open-data portals
(CKAN's DCAT harvester, GovData): a dcat:Catalog with one dcat:Dataset per dataset of the
matrix, each with its distributions. Only what is known is said: no political geocoding,
license or contact point unless the tenant's `catalog` block gives it."""

from __future__ import annotations

from typing import Any

from gateway.datacatalog.cells import FEATURES, Dataset
from gateway.datacatalog.config import TenantCatalog
from gateway.datacatalog.documents import STA_VERSION, Tenant, profile_url

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatde": "http://dcat-ap.de/def/dcatde/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
MEDIA = "https://www.iana.org/assignments/media-types/"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


def _ref(uri: str) -> dict[str, str]:
    return {"@id": uri}


def _distribution(uri: str, title: str, media: str, file_type: str, license_: str | None) -> dict:
    out: dict[str, Any] = {
        "@id": uri,
        "@type": "dcat:Distribution",
        "dct:title": title,
        "dcat:accessURL": _ref(uri),
        "dcat:mediaType": _ref(MEDIA + media),
        "dct:format": _ref(FILE_TYPE + file_type),
    }
    if license_:
        out["dct:license"] = _ref(license_)
    return out


def _distributions(root: str, d: Dataset, license_: str | None) -> list[dict[str, Any]]:
    if d.kind == FEATURES:
        collection = f"{root}/{d.tenant}/collections/{d.collection}"
        return [
            _distribution(
                f"{collection}/items?f=json",
                f"{d.title} (OGC API – Features, GeoJSON)",
                "application/geo+json",
                "GEOJSON",
                license_,
            ),
            _distribution(
                f"{collection}?f=html", f"{d.title} (HTML)", "text/html", "HTML", license_
            ),
        ]
    streams = f"{root}/{d.tenant}/sta/{STA_VERSION}/Datastreams"
    return [
        _distribution(
            streams, f"{d.title} (OGC SensorThings API)", "application/json", "JSON", license_
        )
    ]


def _publisher(root: str, tenant: Tenant, cfg: TenantCatalog) -> dict[str, Any]:
    return {
        "@id": cfg.publisher_url or f"{root}/{tenant.id}/",
        "@type": "foaf:Agent",
        "foaf:name": tenant.title,
    }


def _dataset(
    root: str, d: Dataset, tenant: Tenant, cfg: TenantCatalog, figures: dict[str, Any] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@id": f"{root}/catalog#{d.key}",
        "@type": "dcat:Dataset",
        "dct:identifier": d.key,
        "dct:title": d.title,
        "dct:description": d.description or d.profile.description or d.title,
        "dct:publisher": _publisher(root, tenant, cfg),
        "dct:conformsTo": {
            "@id": profile_url(root, d.profile),
            "@type": "dct:Standard",
            "dct:title": d.profile.title,
            "dct:identifier": d.profile.id,
            "owl:versionInfo": d.profile.version,
        },
        "dcat:keyword": list(d.keywords),
        "dcat:landingPage": _ref(f"{root}/{d.tenant}/"),
        "dcat:distribution": _distributions(root, d, cfg.license),
    }
    modified = (figures or {}).get("lastUpdate")
    if modified:
        out["dct:modified"] = {"@value": modified, "@type": "xsd:dateTime"}
    if cfg.political_geocoding_uri:
        out["dcatde:politicalGeocodingURI"] = _ref(cfg.political_geocoding_uri)
    if cfg.contact_email:
        out["dcat:contactPoint"] = {
            "@type": "vcard:Organization",
            "vcard:fn": tenant.title,
            "vcard:hasEmail": _ref(f"mailto:{cfg.contact_email}"),
        }
    return out


def dcat_doc(
    root: str,
    title: str,
    description: str,
    tenants: dict[str, tuple[Tenant, TenantCatalog]],
    datasets: list[Dataset],
    figures: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "@id": f"{root}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dct:description": description,
        "foaf:homepage": _ref(f"{root}/"),
        "dct:publisher": {"@id": f"{root}/", "@type": "foaf:Agent", "foaf:name": title},
        "dcat:dataset": [
            _dataset(root, d, *tenants[d.tenant], figures.get(d.key)) for d in datasets
        ],
    }
