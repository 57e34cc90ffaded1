"""Configuration of the synchronisations that fill a tenant's embedded store from other
sensor backends: `sensorthings.sync` is a list of sources, each an NGSI context broker
(NGSI-v2 or NGSI-LD) whose observation entities become Things, Datastreams and
Observations. Models only: nothing here talks to a broker."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.remote.http import HttpSettings

if TYPE_CHECKING:
    from gateway.sensorthings.sync.profiled import ProfileBinding

SDM_CONTEXT = "https://smartdatamodels.org/context.jsonld"
SOURCE_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AttributeSelection(_Strict):
    """Which numeric attributes of an entity become Datastreams."""

    include: list[str] | None = Field(
        None,
        description="Only these attributes (NGSI names, e.g. [no2, pm10]); unset: every "
        "attribute with a numeric value.",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Never these attributes (applied after include), e.g. [reliability].",
    )

    def wants(self, name: str) -> bool:
        if self.include is not None and name not in self.include:
            return False
        return name not in self.exclude


class NgsiSubscriptionConfig(_Strict):
    """A subscription the gateway keeps at the broker, so that changes arrive at once
    instead of at the next poll. The broker posts them to `notify_url`, which must reach
    this gateway's endpoint `/{tenant}/sync/ngsi/{source}/notify`."""

    notify_url: str = Field(
        description="URL the broker notifies, as the broker reaches this gateway, e.g. "
        "http://twinbridge:8000/rotterdam/sync/ngsi/air/notify (taken from here, never "
        "from a request).",
        pattern=r"^https?://",
    )
    secret_env: str = Field(
        pattern=ENV_NAME,
        description="Name of the environment variable holding the shared secret; the "
        "broker sends it in `secret_header` (v2: httpCustom.headers, LD: receiverInfo) and "
        "a notification without it is refused (401/403).",
    )
    secret_header: str = Field(
        "X-TwinBridge-Secret",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="Header carrying the shared secret.",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest notification body; larger is a 413."
    )
    throttling: int = Field(
        0, ge=0, description="Seconds the broker waits between two notifications (0: none)."
    )


class HistoryConfig(_Strict):
    """The past values a first synchronisation reads from the NGSI-LD temporal API."""

    enabled: bool = Field(
        True,
        description="Read history on the source's first synchronisation, while the store "
        "holds none of its Things (ngsi-ld only; tried at three runs, then given up: a "
        "broker without the temporal API is polled as usual).",
    )
    days: float = Field(7, gt=0, le=3660, description="How far back (timerel=after).")
    last_n: int = Field(1000, ge=1, le=100_000, description="Most values per attribute (lastN).")
    page_size: int = Field(
        50, ge=1, le=1000, description="Entities per temporal request (limit/offset)."
    )


class NgsiSync(HttpSettings):
    """One NGSI context broker whose observation entities (AirQualityObserved,
    WaterQualityObserved, EVChargingStation, ...) are synchronised into this tenant's
    store: each entity becomes a Thing (with its Location), each numeric attribute a
    Datastream (with ObservedProperty, Sensor and unit), each new value an Observation."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    kind: Literal["ngsi-v2", "ngsi-ld"] = Field(
        description="ngsi-v2 (Orion) or ngsi-ld (Orion-LD, Stellio, Scorpio)."
    )
    name: str = Field(
        pattern=SOURCE_NAME,
        description="Name of this source within the tenant (lower case); it names the "
        "notification endpoint, the metrics and the key kept in each entity's properties.",
    )
    formerly: list[str] = Field(
        default_factory=list,
        description="Names this source's entities were synchronised under before, e.g. "
        "[environment] when an entry for two entity types is split in two (one profile "
        "each): their Things and Datastreams become this source's on its first run, keeping "
        "their @iot.ids and history, instead of being made a second time.",
    )
    url: str = Field(
        pattern=r"^https?://",
        description="Broker root, e.g. http://orion:1026 (the /v2 or /ngsi-ld/v1 paths are added).",
    )
    types: list[str] = Field(
        min_length=1, description="Entity types to synchronise, e.g. [AirQualityObserved]."
    )
    service: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_]{1,50}$",
        description="ngsi-v2: Fiware-Service header (the broker's tenant).",
    )
    service_path: str | None = Field(
        None,
        pattern=r"^/[A-Za-z0-9_/#,]*$",
        description="ngsi-v2: Fiware-ServicePath header, e.g. /rotterdam/#; unset: all.",
    )
    tenant: str | None = Field(None, description="ngsi-ld: NGSILD-Tenant header.")
    context: str = Field(
        SDM_CONTEXT,
        pattern=r"^https?://",
        description="ngsi-ld: @context sent in the Link header (never fetched).",
    )
    attributes: AttributeSelection = Field(
        default_factory=AttributeSelection,
        description="Which numeric attributes become Datastreams (see below); default: all.",
    )
    units: dict[str, str] = Field(
        default_factory=dict,
        description="UCUM unit per attribute, for values whose entity gives no unitCode, "
        "e.g. {temperature: Cel, no2: ug/m3}.",
    )
    profile: str | None = Field(
        None,
        description="SensorThings profile (kind sensorthings, e.g. air-quality) the "
        "Datastreams of this source conform to: an attribute that is one of the profile's "
        "observed properties, in the profile's unit, gets its ObservedProperty (definition "
        "URI), UCUM unit and observationType, and its Datastream declares "
        "properties.profile and properties.profileVersion; unset: the plain NGSI mapping.",
    )
    profile_version: str | None = Field(
        None,
        pattern=r"^\d+\.\d+\.\d+$",
        description="The profile version this source is declared to conform to; start-up "
        "fails when the installed profile has another (unset: the installed one).",
    )
    observed_properties: dict[str, str] = Field(
        default_factory=dict,
        description="NGSI attribute -> the profile's observed-property key, for attribute "
        "names the profile's Smart Data Models names do not cover, e.g. {NO2: no2}.",
    )
    convert: dict[str, str] = Field(
        default_factory=dict,
        description="UCUM unit an attribute arrives in, when it is not the profile's, "
        "e.g. {height: m} for a water level the profile gives in cm: values in that unit "
        "(or without a unitCode) are converted to the profile's unit; a conversion the "
        "unit table does not know stops start-up (needs a 'profile').",
    )
    interval: float = Field(
        60,
        ge=0,
        description="Seconds between polls of entities modified since the last one; 0: no "
        "polling after the first (the subscription brings changes).",
    )
    page_size: int = Field(
        100, ge=1, le=1000, description="Entities per request (limit; Orion allows 1000)."
    )
    subscription: NgsiSubscriptionConfig | None = Field(
        None, description="Keep a subscription at the broker (see below); unset: poll only."
    )
    history: HistoryConfig = Field(
        default_factory=HistoryConfig,
        description="Past values read on the first synchronisation (ngsi-ld; see below).",
    )
    timeout: float = Field(
        30,
        gt=0,
        description="Seconds each step of a run (subscription check, poll, history read) "
        "may take; a step that takes longer fails the run, which is retried with backoff.",
    )

    @model_validator(mode="after")
    def _kind_headers(self) -> NgsiSync:
        if self.kind == "ngsi-v2" and self.tenant is not None:
            raise ValueError("'tenant' is for ngsi-ld; ngsi-v2 uses 'service'")
        if self.kind == "ngsi-ld" and (self.service or self.service_path):
            raise ValueError("'service'/'service_path' are for ngsi-v2; ngsi-ld uses 'tenant'")
        return self

    @model_validator(mode="after")
    def _formerly_others(self) -> NgsiSync:
        bad = [n for n in self.formerly if n == self.name or not re.match(SOURCE_NAME, n)]
        if bad:
            raise ValueError(f"'formerly': other sources' names, not {', '.join(bad)}")
        return self

    @model_validator(mode="after")
    def _profile_fits(self) -> NgsiSync:
        """The profile exists, is a SensorThings one, has the declared version and asks
        only for what a sync can fill; so a misfit stops start-up, not a run."""
        import profiles
        from gateway.sensorthings.sync.profiled import ProfileMismatch

        if self.profile is None:
            if self.profile_version or self.observed_properties or self.convert:
                raise ValueError(
                    "'profile_version'/'observed_properties'/'convert' need a 'profile'"
                )
            return self
        try:
            self.profile_binding()
        except (ProfileMismatch, profiles.UnknownProfile, profiles.ProfileError) as e:
            raise ValueError(f"profile: {e}") from None
        return self

    def profile_binding(self) -> ProfileBinding | None:
        """The configured profile, ready for the upsert (None without one)."""
        from gateway.sensorthings.sync.profiled import ProfileBinding

        if self.profile is None:
            return None
        return ProfileBinding.load(
            self.profile, self.profile_version, self.observed_properties, self.convert, self.types
        )


SyncSource = NgsiSync
