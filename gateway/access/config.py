"""The `access` block of a tenant: its API keys (as hashes) and whether reading is public."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# `read` / `write` for the whole tenant, `read:<collection>` / `write:<collection>` for one
# collection; the tenant's SensorThings API is the collection `sensorthings`.
SCOPE = r"^(read|write)(:[A-Za-z0-9_-]{1,63})?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiKey(_Strict):
    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$",
        description="Who holds the key (an app, a department): named in audit logs and "
        "rate limits, never the key itself.",
    )
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description='SHA-256 of the key, in lower-case hex (`printf %s "$KEY" | sha256sum`); '
        "the key itself is never in the configuration. `${VAR}` reads it from the environment.",
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["read"],
        description="What the key may do: `read`, `write` (every collection of the tenant), "
        "`read:<collection>`, `write:<collection>`; `sensorthings` names the SensorThings API.",
    )

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        for scope in value:
            if not re.match(SCOPE, scope):
                raise ValueError(
                    f"scope '{scope}' must be read, write, read:<collection> or write:<collection>"
                )
        return value


class TenantAccess(_Strict):
    public_read: bool = Field(
        True,
        description="Anyone may read (the default). False: reading needs a `read` scope too.",
    )
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description="Keys accepted as `X-API-Key`, `Authorization: Bearer` or the password of "
        "HTTP Basic. Without keys, nothing of the tenant can be written.",
    )
