"""Configuration of the usage KPIs: `server.usage`. `gateway/config.py` only references it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class UsageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enabled: bool = Field(
        True,
        description="Count requests, features and bytes served and distinct client "
        "applications per day, tenant, profile and API (shown in /catalog, on /metrics).",
    )
    state_path: str | None = Field(
        None,
        description="SQLite file that keeps the daily figures, shared by every worker and "
        "kept across restarts (relative paths are relative to the configuration file). "
        "Unset: with several workers a file in the metrics folder of `twinbridge serve` "
        "(lost at restart), with one worker in memory.",
        examples=["/var/lib/twinbridge/usage.sqlite"],
    )
    days_kept: int = Field(
        90, ge=1, le=3660, description="Days of figures kept; older days are deleted."
    )
    catalog_days: int = Field(
        7, ge=1, le=366, description="Days (today included) shown in /catalog's usage section."
    )
    flush_seconds: float = Field(
        10,
        ge=0.1,
        le=3600,
        description="Seconds between two writes of a worker's tally to the state file: the "
        "request path never writes; /catalog and the distinct-clients gauge lag this much.",
    )
    max_clients: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Distinct clients remembered per day, tenant, profile and API (bounds "
        "memory and file whatever clients send); beyond it the figure is flagged 'at least'.",
    )
    client_secret: SecretStr | None = Field(
        None,
        description="Key of the hash that identifies a client by its API key or X-Client "
        "name (use ${VAR}); neither is ever stored. Default: derived from this "
        "configuration, alike in every worker that loads it.",
    )


REFERENCE_SECTIONS: list[tuple[str, type[BaseModel]]] = [("`server.usage`", UsageSettings)]
