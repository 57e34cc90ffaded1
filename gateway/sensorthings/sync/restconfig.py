"""Configuration of a `rest` sync source: a proprietary JSON API (a gauge network such as
PEGELONLINE, a parking-guidance system, a noise-monitoring portal) whose stations become
Things and whose values become Observations of a SensorThings profile's Datastreams.

Declarative, like the `rest` connector: where the stations are, where in each station (or
in a per-station time-series request) a value and its time are. Models only; rest.py reads
the API. Every source of this kind names a profile: the point of it is to bring a city's
own API into profiled SensorThings.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.remote.http import HttpSettings
from gateway.sensorthings.sync.config import ENV_NAME, SOURCE_NAME

if TYPE_CHECKING:
    from gateway.sensorthings.sync.profiled import ProfileBinding

PATH_HELP = "Dotted path into the JSON (list positions as numbers, e.g. timeseries.0.value)"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RestStations(_Strict):
    """Where the stations are in the stations answer, and what names each one."""

    path: str = Field(
        description="Path of the stations request below `url`, with its query, e.g. "
        "stations.json?includeTimeseries=true.",
    )
    items: str = Field(
        "", description=f"{PATH_HELP} to the list of stations; empty: the answer is the list."
    )
    id: str = Field(description=f"{PATH_HELP} to the station's identifier (its stationId).")
    name: str = Field(description=f"{PATH_HELP} to the station's name.")
    description: str | None = Field(None, description=f"{PATH_HELP} to a description.")
    lon: str = Field(description=f"{PATH_HELP} to the longitude (WGS 84).")
    lat: str = Field(description=f"{PATH_HELP} to the latitude (WGS 84).")
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="More Thing properties: name -> path into the station, e.g. "
        "{gaugeZero: timeseries.0.gaugeZero.value} (set when the Thing is made; a path "
        "without a value leaves the property out).",
    )
    constants: dict[str, str | float | int | bool] = Field(
        default_factory=dict,
        description="Thing properties with one value for every station, e.g. "
        "{waterBodyCategory: TW}.",
    )


class RestReading(_Strict):
    """One observed property of the profile: where its values and times are."""

    value: str = Field(description=f"{PATH_HELP} to the value.")
    time: str = Field(
        description=f"{PATH_HELP} to the value's time: ISO 8601 (with an offset or Z), or "
        "a number of seconds (or, above 1e11, milliseconds) since 1970."
    )
    unit: str | None = Field(
        None,
        description="UCUM code the API gives the value in, e.g. cm or 1 (a ratio); "
        "converted to the profile's unit (a conversion the unit table does not know stops "
        "start-up). Unset: the profile's unit.",
    )
    path: str | None = Field(
        None,
        description="A time-series request per station below `url`, `{id}` standing for the "
        "station's identifier (URL-escaped), e.g. stations/{id}/W/measurements.json; "
        "`value` and `time` are then paths into each of its items. Unset: `value` and "
        "`time` are paths into the station itself (its current value).",
    )
    items: str = Field(
        "", description=f"{PATH_HELP} to the list in the time-series answer; empty: the list."
    )
    since_param: str | None = Field(
        None,
        description="Query parameter of the time-series request carrying the time of the "
        "latest value already read (ISO 8601), so each poll reads only what is new; the "
        "first asks for `history_hours`. Unset: the whole series each time.",
    )


class RestSync(HttpSettings):
    """A proprietary REST/JSON API polled into this tenant's store under a profile: each
    station a Thing with its Location, each observed property a Datastream with the
    profile's ObservedProperty, UCUM unit and declaration, each new value an Observation."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    kind: Literal["rest"] = Field(description="rest: a JSON API described by paths.")
    name: str = Field(
        pattern=SOURCE_NAME,
        description="Name of this source within the tenant (lower case); it names the "
        "metrics and the key kept in each Thing's and Datastream's properties.",
    )
    url: str = Field(
        pattern=r"^https?://",
        description="Root of the API; every request goes below it, e.g. "
        "https://www.pegelonline.wsv.de/webservices/rest-api/v2.",
    )
    entity_type: str = Field(
        "Station",
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
        description="What a station is called in Thing properties (entityType), e.g. Pegel.",
    )
    stations: RestStations = Field(description="The stations request (see below).")
    readings: dict[str, RestReading] = Field(
        min_length=1,
        description="Profile observed-property key -> where its values are (see below), e.g. "
        "{water_level: {path: 'stations/{id}/W/measurements.json', value: value, "
        "time: timestamp, since_param: start}}.",
    )
    auth_header: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="Header carrying the API key, e.g. X-Api-Key (with auth_env).",
    )
    auth_env: str | None = Field(
        None,
        pattern=ENV_NAME,
        description="Environment variable holding the API key sent in auth_header; it "
        "must be set at start-up, and is never logged.",
    )
    profile: str = Field(description="SensorThings profile the Datastreams conform to.")
    profile_version: str | None = Field(
        None,
        pattern=r"^\d+\.\d+\.\d+$",
        description="The profile version declared; start-up fails on another installed.",
    )
    interval: float = Field(300, gt=0, description="Seconds between polls.")
    history_hours: float = Field(
        24, gt=0, le=24 * 366, description="How far back the first poll of a series reads."
    )
    timeout: float = Field(30, gt=0, description="Seconds a poll may take in all.")

    # What the scheduler asks of every source kind and a rest source does not have.
    @property
    def subscription(self) -> None:
        return None

    @property
    def units(self) -> dict[str, str]:
        return {}

    @property
    def formerly(self) -> list[str]:
        return []

    @model_validator(mode="after")
    def _auth(self) -> RestSync:
        if (self.auth_header is None) != (self.auth_env is None):
            raise ValueError("give both 'auth_header' and 'auth_env', or neither")
        if self.auth_env is not None and not os.environ.get(self.auth_env):
            raise ValueError(f"auth_env: the environment variable {self.auth_env} is not set")
        return self

    @model_validator(mode="after")
    def _profile_fits(self) -> RestSync:
        """The profile exists, has the declared version, knows every reading's key, and each
        reading's unit converts to the profile's: a misfit stops start-up."""
        import profiles
        from gateway.sensorthings.sync.profiled import ProfileMismatch

        try:
            self.profile_binding()
        except (ProfileMismatch, profiles.UnknownProfile, profiles.ProfileError) as e:
            raise ValueError(f"profile: {e}") from None
        return self

    def profile_binding(self) -> ProfileBinding:
        from gateway.sensorthings.sync.profiled import ProfileBinding

        names = {key: key for key in self.readings}
        convert = {k: r.unit for k, r in self.readings.items() if r.unit is not None}
        return ProfileBinding.load(self.profile, self.profile_version, names, convert)

    def auth(self) -> dict[str, Any]:
        """The API-key header, read from the environment now (never stored in the model)."""
        if self.auth_header is None or self.auth_env is None:
            return {}
        return {self.auth_header: os.environ.get(self.auth_env, "")}
