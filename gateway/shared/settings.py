"""Configuration of `server.shared_state`. `gateway/config.py` only references it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

SCHEMES = ("redis://", "rediss://", "unix://")


class SharedStateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redis_url: SecretStr | None = Field(
        None,
        description="Redis holding the state every worker and instance shares (response "
        "cache, circuit breakers, rate-limit counters, single flight of upstream metadata), "
        "normally ${TWINBRIDGE_REDIS_URL}, e.g. redis://:password@redis:6379/0 (never "
        "logged). Unset or empty: each worker keeps its own, in process. While Redis is "
        "unreachable workers fall back to their own and /ready says 'degraded'.",
        examples=["${TWINBRIDGE_REDIS_URL}"],
    )
    key_prefix: str = Field(
        "twinbridge:",
        min_length=1,
        max_length=64,
        description="Prefix of every key the gateway writes, so that several deployments "
        "(or tests) can share one Redis.",
    )
    socket_timeout: float = Field(
        0.25,
        gt=0,
        le=10,
        description="Seconds one Redis command (or connecting) may take; a slower Redis counts "
        "as unavailable and the workers fall back to their own state until it answers again.",
    )
    breaker_sync: float = Field(
        0.5,
        gt=0,
        le=10,
        description="Seconds between two reads of the shared circuit breakers by each worker "
        "(one Redis round trip for all sources): a circuit opened elsewhere is seen open "
        "here within this time, and requests never wait on Redis for it.",
    )
    response_ttl: float = Field(
        3600,
        gt=0,
        description="Seconds a shared cached answer without a TTL of its own (its sources "
        "have versions) is kept. Configure Redis with a maxmemory and "
        "maxmemory-policy allkeys-lru to bound its size.",
    )
    flight_wait: float = Field(
        5.0,
        gt=0,
        description="Seconds a worker waits for another one loading the same upstream "
        "metadata before it asks the upstream itself.",
    )
    reconnect_max: float = Field(
        10.0,
        gt=0,
        description="Longest pause between two attempts to reach Redis again while it is "
        "unavailable (the pause doubles from 0.25 s).",
    )

    @field_validator("redis_url")
    @classmethod
    def _scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None  # ${TWINBRIDGE_REDIS_URL} set empty: in process
        if value is not None and not value.get_secret_value().startswith(SCHEMES):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        return value


REFERENCE_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("`server.shared_state`", SharedStateSettings)
]
