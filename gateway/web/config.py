"""Configuration of the web middleware: `server.cors` and `server.compression`.
`gateway/config.py` only references these models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Encoding = Literal["zstd", "br", "gzip"]
ANY_ORIGIN = "*"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normal_origin(origin: str) -> str:
    """Lower case, without a default port: how browsers send an Origin."""
    scheme, _, host = origin.strip().lower().partition("://")
    default = _DEFAULT_PORTS.get(scheme)
    if default and host.endswith(f":{default}"):
        host = host[: -len(default) - 1]
    return f"{scheme}://{host}"


def _origin(value: str) -> str:
    """An origin as browsers send it: scheme://host[:port], no path."""
    value = value.strip().rstrip("/")
    if value == ANY_ORIGIN:
        return value
    scheme, sep, host = value.lower().partition("://")
    if scheme not in ("http", "https") or not sep or not host or "/" in host or "*" in host:
        raise ValueError(f"'{value}' is not an origin like https://map.example.org[:port]")
    return normal_origin(value)


class CorsSettings(_Strict):
    enabled: bool = Field(
        True,
        description="Answer preflights and add CORS headers. Off: pages on other origins "
        "can read nothing; OPTIONS still gets 204 with Allow, and writes from other origins "
        "are still refused.",
    )
    allow_origins: list[str] = Field(
        default_factory=lambda: [ANY_ORIGIN],
        description="Origins (scheme://host[:port]) whose pages may read the APIs; '*' any. "
        "A list is answered by echoing the request's Origin, with `Vary: Origin`.",
        examples=[["https://geoportal.example.org"]],
    )
    write_origins: list[str] = Field(
        default_factory=list,
        description="Origins whose pages may also write: SensorThings POST, PATCH, PUT, "
        "DELETE, and Features creates (POST on items with a Feature) and PUT, PATCH, DELETE "
        "on items. Default: none. A write that carries an Origin which is neither the "
        "gateway's own nor listed here is refused with 403 (a form POST needs no preflight, "
        "so the server refuses it itself). Their preflights are answered with the write "
        "methods the route takes (none on a read-only collection).",
    )
    allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "HEAD", "POST"],
        description="Methods a preflight may allow for reads (POST: a CQL2-JSON query of the "
        "Features items). Writes (SensorThings POST, PATCH, PUT, DELETE; Features PUT, "
        "PATCH, DELETE) are allowed only to write_origins.",
    )
    allow_headers: list[str] = Field(
        default_factory=lambda: [
            "Accept",
            "Accept-Language",
            "Content-Type",
            "Authorization",
            "X-API-Key",
            "X-Request-Id",
            "If-None-Match",
            "If-Match",
            "If-Modified-Since",
            "Prefer",
        ],
        description="Request headers a preflight may allow ('*': any; with credentials, "
        "only a list).",
    )
    expose_headers: list[str] = Field(
        default_factory=lambda: [
            "Link",
            "ETag",
            "Last-Modified",
            "Warning",
            "Content-Crs",
            "Content-Type",
            "Content-Language",
            "X-Request-Id",
            "Retry-After",
            "Location",
            "OGC-NumberMatched",
            "OGC-NumberReturned",
            "Server-Timing",
        ],
        description="Response headers a page on another origin may read.",
    )
    max_age: int = Field(
        600, ge=0, le=86400, description="Seconds a browser may keep a preflight's answer."
    )
    allow_credentials: bool = Field(
        False,
        description="Let pages send cookies or HTTP authentication along "
        "(Access-Control-Allow-Credentials). Needs listed origins, never '*'.",
    )

    @field_validator("allow_origins", "write_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [_origin(v) for v in value]

    @field_validator("allow_methods", "allow_headers", "expose_headers")
    @classmethod
    def _tokens(cls, value: list[str]) -> list[str]:
        for v in value:
            if not v or not all(c.isalnum() or c in "-_*" for c in v):
                raise ValueError(f"'{v}' is not a header or method name")
        return value

    @field_validator("allow_methods")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [v.upper() for v in value]

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> CorsSettings:
        wildcard = ANY_ORIGIN in self.allow_origins + self.write_origins
        if self.allow_credentials and (wildcard or "*" in self.allow_headers):
            raise ValueError("allow_credentials needs listed origins and headers, not '*'")
        return self


class CompressionSettings(_Strict):
    enabled: bool = Field(True, description="Compress answers the client accepts compressed.")
    encodings: list[Encoding] = Field(
        default_factory=lambda: ["zstd", "br", "gzip"],
        min_length=1,
        description="Content codings offered, the server's preference first (taken when the "
        "client weighs several equally).",
    )
    min_size: int = Field(
        1024,
        ge=0,
        description="Bytes below which an answer known whole at its start is sent as it is "
        "(compressing it would save little). Streamed answers are always compressed.",
    )
    gzip_level: int = Field(3, ge=1, le=9, description="zlib level of gzip (1 fastest).")
    br_quality: int = Field(4, ge=0, le=11, description="Brotli quality (0 fastest).")
    zstd_level: int = Field(3, ge=1, le=19, description="Zstandard level (1 fastest).")

    @field_validator("encodings")
    @classmethod
    def _unique(cls, value: list[Encoding]) -> list[Encoding]:
        if len(set(value)) != len(value):
            raise ValueError("each encoding once")
        return value


REFERENCE_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("`server.cors`", CorsSettings),
    ("`server.compression`", CompressionSettings),
]
