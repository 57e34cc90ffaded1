"""@context handling of the NGSI-LD test broker: term expansion and compaction, honest but
small.

A broker stores attribute names and entity types as IRIs and answers in the terms of the
request's @context (a `Link` header, or `@context` in an `application/ld+json` body). This
module knows a local, embedded copy of the terms it needs; it NEVER fetches a context URL.
- The core context: its own keywords (`id`, `type`, `value`, `location`, `observedAt` ...)
  are never expanded; any other term expands under the default vocabulary
  `https://uri.etsi.org/ngsi-ld/default-context/` (as brokers do for undefined terms).
- The Smart Data Models aggregate context: a subset of its terms (the air- and water-quality
  models, devices, charging stations) under the smartdatamodels.org IRIs.
- An inline context object: its string or `{"@id": ...}` term definitions.
- An unknown context URL: its terms are kept as given (stored as the short name), so a
  client using it consistently reads back what it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CORE_CONTEXTS = frozenset(
    {
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
    }
)
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
SDM = "https://smartdatamodels.org/"
SDM_CONTEXTS = frozenset(
    {
        "https://smartdatamodels.org/context.jsonld",
        "https://raw.githubusercontent.com/smart-data-models/data-models/master/context.jsonld",
    }
)
# Core terms: never expanded, never stored as attributes of their own name's IRI.
KEYWORDS = frozenset(
    {
        "@context",
        "id",
        "type",
        "value",
        "object",
        "objectList",
        "languageMap",
        "observedAt",
        "unitCode",
        "datasetId",
        "createdAt",
        "modifiedAt",
        "deletedAt",
        "instanceId",
        "scope",
        "location",
        "observationSpace",
        "operationSpace",
        "Property",
        "GeoProperty",
        "Relationship",
        "LanguageProperty",
        "ListProperty",
        "JsonProperty",
    }
)
_SDM_DOMAIN = {
    "dataModel.Environment": (
        "AirQualityObserved WaterQualityObserved WaterObserved NoiseLevelObserved "
        "NO2 NO NOx O3 PM10 PM25 PM1 SO2 CO CO2 C6H6 NH3 airQualityIndex airQualityLevel "
        "reliability precipitation relativeHumidity windDirection windSpeed "
        "pH conductivity turbidity dissolvedOxygen flow height measurand volume "
        "LAeq LAmax sonometerClass"
    ),
    "dataModel.Device": "Device DeviceModel batteryLevel deviceState controlledProperty",
    "dataModel.Transportation": (
        "EVChargingStation allowedVehicleType availableCapacity capacity chargeType "
        "socketType status"
    ),
    "dataModel.Parking": "ParkingSpot OffStreetParking availableSpotNumber totalSpotNumber",
}
_SDM_COMMON = (
    "name alternateName description address areaServed dataProvider source owner seeAlso "
    "dateCreated dateModified dateObserved temperature refDevice refPointOfInterest "
    "typeOfLocation category"
)


def _sdm_terms() -> dict[str, str]:
    terms = {t: f"{SDM}{t}" for t in _SDM_COMMON.split()}
    for domain, names in _SDM_DOMAIN.items():
        terms |= {t: f"{SDM}{domain}/{t}" for t in names.split()}
    return terms


SDM_TERMS = _sdm_terms()


@dataclass(frozen=True)
class Context:
    """The terms of one request's @context: `terms` short name -> IRI; `opaque` when a part
    of it is unknown here (then undefined terms are kept as given)."""

    terms: Mapping[str, str] = field(default_factory=dict)
    opaque: bool = False
    url: str | None = None
    _reverse: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for term, iri in self.terms.items():
            self._reverse.setdefault(iri, term)

    def expand(self, term: str) -> str:
        """A short name as the broker stores it (an IRI, or as given where unknown)."""
        if term in KEYWORDS or ":" in term:
            return term
        if term in self.terms:
            return self.terms[term]
        return term if self.opaque else DEFAULT_VOCAB + term

    def compact(self, iri: str) -> str:
        """A stored name in this context's terms (the IRI itself where none fits)."""
        if iri in self._reverse:
            return self._reverse[iri]
        if iri.startswith(DEFAULT_VOCAB):
            return iri[len(DEFAULT_VOCAB) :]
        return iri


CORE = Context()


class ContextError(ValueError):
    """An @context this broker cannot read (not a URL, object or list of those)."""


def resolve(raw: Any) -> Context:
    """The Context of a `Link` header's URL or of a body's `@context` value."""
    if raw is None:
        return CORE
    parts = raw if isinstance(raw, list) else [raw]
    terms: dict[str, str] = {}
    opaque = False
    for part in parts:
        if isinstance(part, str):
            if part in SDM_CONTEXTS:
                terms |= SDM_TERMS
            elif part not in CORE_CONTEXTS:
                opaque = True
        elif isinstance(part, dict):
            terms |= _inline(part)
        else:
            raise ContextError("an @context is a URL, an object or a list of those")
    url = parts[0] if len(parts) == 1 and isinstance(parts[0], str) else None
    return Context(terms, opaque, url)


def _inline(definitions: Mapping[str, Any]) -> dict[str, str]:
    terms: dict[str, str] = {}
    for term, definition in definitions.items():
        if term.startswith("@"):
            continue
        if isinstance(definition, str):
            terms[term] = definition
        elif isinstance(definition, dict) and isinstance(definition.get("@id"), str):
            terms[term] = definition["@id"]
    return terms


def from_link(header: str | None) -> str | None:
    """The context URL of a JSON-LD `Link` header (`<url>; rel="...#context"`), else None."""
    if not header:
        return None
    for link in header.split(","):
        url, _, rest = link.strip().partition(";")
        if "json-ld#context" in rest and url.startswith("<") and url.endswith(">"):
            return url[1:-1]
    return None


__all__ = ["CORE", "Context", "ContextError", "DEFAULT_VOCAB", "from_link", "resolve"]
