"""Configuration of `/catalog`: `server.catalog` and `tenants.<tenant>.catalog`.
`gateway/config.py` only references these models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CatalogSettings(_Strict):
    enabled: bool = Field(
        True, description="Serve /catalog and compute its figures in the background."
    )
    refresh_seconds: float = Field(
        900,
        ge=5,
        description="Seconds from the end of one computation of every cell's figures (count, "
        "last update, data quality) to the start of the next. Requests never compute: a "
        "cell not computed yet says 'pending'.",
    )
    first_delay_seconds: float = Field(
        30,
        ge=0,
        description="Seconds after start-up before the first computation, so that start-up "
        "and the first requests go first (until then every dataset is 'pending').",
    )
    max_items: int = Field(
        100_000,
        ge=0,
        description="Items read per collection for its figures (0 = all); a collection with "
        "more is marked as sampled and its count taken from the source when that is cheap.",
    )
    page_size: int = Field(1000, ge=1, le=100_000, description="Items read from a source at once.")
    concurrency: int = Field(
        2, ge=1, le=64, description="Collections whose figures are computed at the same time."
    )
    observation_window: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Latest Observations read per SensorThings Datastream for its figures "
        "(results outside the profile's plausible range or of the wrong type, staleness).",
    )
    stale_seconds: float = Field(
        86400,
        gt=0,
        description="Age of a SensorThings Datastream's newest Observation beyond which it "
        "counts as stale in the catalog's figures.",
    )
    conformance: bool = Field(
        True,
        description="Also run the conformance suite's profile checks on every dataset, "
        "Features and SensorThings (in process, against this gateway, every "
        "conformance_refresh_seconds), for the catalog's latest conformance result.",
    )
    conformance_refresh_seconds: float = Field(
        21600,
        ge=0,
        description="Seconds a dataset's profile-conformance result is kept before a round "
        "runs the checks again (they read the collection several times, so less often "
        "than the figures); 0: every round.",
    )
    conformance_budget_seconds: float = Field(
        300, gt=0, description="Seconds one dataset's profile-conformance run may take."
    )
    max_ids: int = Field(
        200_000,
        ge=0,
        description="Distinct feature ids remembered per collection to find duplicates; "
        "beyond that the duplicate count is marked as not exact.",
    )


class TenantCatalog(_Strict):
    publisher_url: str | None = Field(
        None,
        description="URI of the publishing body (dct:publisher in DCAT-AP), e.g. the "
        "city's website; unset: the tenant's page on this gateway.",
    )
    political_geocoding_uri: str | None = Field(
        None,
        description="DCAT-AP.de dcatde:politicalGeocodingURI of the area the data covers, "
        "e.g. http://dcat-ap.de/def/politicalGeocoding/municipalityKey/14713000; unset: "
        "left out (never guessed).",
        examples=["http://dcat-ap.de/def/politicalGeocoding/municipalityKey/02000000"],
    )
    contact_email: str | None = Field(
        None, description="Contact point (dcat:contactPoint) for the tenant's datasets."
    )
    license: str | None = Field(
        None,
        description="License of the tenant's datasets (dct:license), e.g. "
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0; unset: left out.",
    )


REFERENCE_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("`server.catalog`", CatalogSettings),
    ("`tenants.<tenant>.catalog`", TenantCatalog),
]
