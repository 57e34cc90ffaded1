"""Configuration of `server.rate_limits` and a tenant's `rate_limits`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int
    window: float  # seconds

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.match(text)
        if match is None:
            raise ValueError(
                f"'{text}' is not a rate: write requests/period, e.g. 600/minute, 20/second, "
                "5000/hour, 100/10minutes"
            )
        limit, count, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
        if limit < 1 or count < 1:
            raise ValueError(f"'{text}': the number of requests and the period must be ≥ 1")
        return cls(limit, float(count * UNITS[unit]))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("per_client", "per_tenant", check_fields=False)
    @classmethod
    def _rate(cls, text: str | None) -> str | None:
        if text is not None:
            Rate.parse(text)
        return text


class RateLimitSettings(_Strict):
    per_client: str | None = Field(
        None,
        description="Requests one client may make to one tenant's API (or to the federated "
        "API) per period, e.g. 600/minute; more get 429 with Retry-After. The client is the "
        "authenticated principal when there is one, else its IP address (as forwarded by a "
        "proxy in forwarded_allow_ips). Unset: no limit. /health, /ready and /metrics are "
        "never limited.",
        examples=["600/minute"],
    )
    per_tenant: str | None = Field(
        None,
        description="Requests all clients together may make to one tenant's API "
        "(/{tenant}/…) per period, e.g. 6000/minute. Unset: no limit.",
        examples=["6000/minute"],
    )


class TenantRateLimits(_Strict):
    per_client: str | None = Field(
        None, description="This tenant's own per-client limit (default: server.rate_limits)."
    )
    per_tenant: str | None = Field(
        None,
        description="This tenant's own limit for all clients together (default: "
        "server.rate_limits).",
    )


REFERENCE_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("`server.rate_limits`", RateLimitSettings),
    ("`tenants.<tenant>.rate_limits`", TenantRateLimits),
]
