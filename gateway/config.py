"""Configuration: the pydantic models are the reference; loading turns any mistake into a
message naming the file, the key path and what is expected (never a traceback).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.access.config import TenantAccess
from gateway.datacatalog.config import CatalogSettings, TenantCatalog
from gateway.errors import ConfigError
from gateway.forwarded import check_proxy_entry
from gateway.httpcache.settings import CollectionHttpCache, HttpCacheSettings
from gateway.mapping.rules import Mapping
from gateway.ratelimit.settings import RateLimitSettings, TenantRateLimits
from gateway.resilience import Resilience
from gateway.sensorthings.config import StaServerSettings, TenantSensorThings
from gateway.shared.settings import SharedStateSettings
from gateway.usage.config import UsageSettings
from gateway.web.config import CompressionSettings, CorsSettings

SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"
COLLECTION_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
RESERVED_TENANTS = frozenset(
    {
        "api",
        "api.html",
        "catalog",
        "collections",
        "conformance",
        "sta",
        "static",
        "health",
        "ready",
        "metrics",
    }
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FederationSettings(Strict):
    partial: Literal["flag", "fail"] = Field(
        "flag",
        description="When a member source fails: 'flag' answers with the others and names the "
        "failed sources; 'fail' answers 502/504.",
    )
    timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a federated request (Features and SensorThings) gives its "
        "members in all: a member that has not answered by then is left out and named "
        "(or the request fails, with partial 'fail'). Each member's own "
        "resilience.timeout applies too.",
    )


class QuerySettings(Strict):
    scan_rows: int = Field(
        20_000,
        ge=0,
        description="Rows the gateway may read from a source and evaluate itself per request "
        "(each federation member apart): what a filter, bbox or sort the source cannot run "
        "costs. A query that needs more is answered 400 QueryTooCostly, asking to narrow it. "
        "Files held in memory read nothing per request: only scan_seconds bounds them. "
        "0: no limit.",
    )
    scan_seconds: float = Field(
        2.0,
        ge=0,
        description="Seconds (wall clock) the gateway may spend evaluating such rows itself "
        "(mapping, filter, sort) per source and request: the time every other request "
        "waits for it. The bound for files held in memory; over other sources scan_rows "
        "usually ends a costly query first. 0: no limit.",
    )
    like_length: int = Field(
        1000,
        ge=0,
        description="Characters of a LIKE pattern in a filter (400 beyond). 0: no limit.",
    )
    like_wildcards: int = Field(
        64,
        ge=0,
        description="Wildcards (% and _) in a LIKE pattern (400 beyond): each one multiplies "
        "the work of a match. 0: no limit.",
    )


class ServerSettings(Strict):
    title: str = Field("TwinBridge", description="Title of the federated landing page.")
    description: str = Field(
        "Federated OGC API – Features over the data platforms of several cities.",
        description="Description of the federated landing page.",
    )
    base_url: str | None = Field(
        None,
        description="Public base URL (e.g. https://twin.example.org/api). When unset, links "
        "are built from the request: its Host header, or what a trusted proxy forwarded "
        "(see forwarded_allow_ips).",
    )
    forwarded_allow_ips: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Reverse proxies whose `Forwarded` (RFC 7239) and X-Forwarded-Proto/Host/"
        "Prefix headers are believed: IP addresses and CIDR networks, as a list or one "
        "comma-separated string (e.g. ${FORWARDED_ALLOW_IPS}); default: loopback (127.0.0.1, "
        "::1). '*' trusts every peer (only "
        "when nothing but the proxy can reach the gateway). From other peers these headers "
        "are ignored. `twinbridge serve` turns uvicorn's own proxy-header handling off: this "
        "list is the only one.",
        examples=[["127.0.0.1", "::1", "10.0.0.0/8"]],
    )
    max_url_length: int = Field(
        32768,
        ge=1024,
        le=65000,
        description="Longest request URL (path and query, in bytes) answered; longer ones get "
        "414 in the facade's error shape. At most 65000: `twinbridge serve` cannot parse "
        "longer URLs (httptools' limit is 65535). Long CQL2 filters fit a POST body.",
    )
    max_header_bytes: int = Field(
        32768,
        ge=1024,
        le=1048576,
        description="Largest total size of a request's header fields (each `name: value` and "
        "its line end); larger ones get 431 in the facade's error shape.",
    )
    default_limit: int = Field(10, ge=1, description="Page size when a client sends no limit.")
    max_limit: int = Field(10000, ge=1, description="Larger limits are clamped to this.")
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest request body of the Features facade (the CQL2-JSON filter of "
        "POST …/items), enforced while it streams in; larger is a 413.",
    )
    cursor_secret: SecretStr | None = Field(
        None,
        description="Key that signs the paging cursors of next links (use ${VAR}). Default: "
        "derived from this configuration, so every worker that loads it accepts the cursors "
        "of the others; set it when workers run with different files.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="When set (use ${VAR}), /metrics answers only requests that send "
        "'Authorization: Bearer <token>'; unset, /metrics is public.",
    )
    federation: FederationSettings = Field(
        default_factory=FederationSettings, description="How federated collections behave."
    )
    resilience: Resilience = Field(
        default_factory=Resilience,
        description="Deadline, circuit breaker and load shedding of every source (defaults; "
        "a collection or SensorThings upstream may override keys in its own block).",
    )
    query: QuerySettings = Field(
        default_factory=QuerySettings,
        description="Limits on the work one request may ask of the gateway itself.",
    )
    sensorthings: StaServerSettings = Field(
        default_factory=StaServerSettings,
        description="SensorThings API settings shared by all tenants (paging, MQTT broker).",
    )
    http_cache: HttpCacheSettings = Field(
        default_factory=HttpCacheSettings,
        description="ETags, Cache-Control and the response cache.",
    )
    cors: CorsSettings = Field(
        default_factory=CorsSettings,
        description="Which web pages on other origins may read and write (CORS).",
    )
    compression: CompressionSettings = Field(
        default_factory=CompressionSettings,
        description="Compression of answers (gzip, Brotli, zstd), negotiated and streaming.",
    )
    catalog: CatalogSettings = Field(
        default_factory=CatalogSettings,
        description="The data catalog at /catalog: profiles × tenants with live figures.",
    )
    usage: UsageSettings = Field(
        default_factory=UsageSettings,
        description="Usage KPIs per day, tenant, profile and API (in /catalog, on /metrics).",
    )
    shared_state: SharedStateSettings = Field(
        default_factory=SharedStateSettings,
        description="State shared by all workers and instances in Redis (response cache, "
        "circuit breakers, rate limits, metadata single flight); unset: in process.",
    )
    rate_limits: RateLimitSettings = Field(
        default_factory=RateLimitSettings,
        description="Requests per client and per tenant (429 with Retry-After); off unless set.",
    )

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        return [v for v in value.split(",") if v.strip()] if isinstance(value, str) else value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_entries(cls, value: list[str]) -> list[str]:
        return [check_proxy_entry(v) for v in value]

    @model_validator(mode="after")
    def _limits_ordered(self) -> ServerSettings:
        if self.default_limit > self.max_limit:
            raise ValueError("default_limit must not exceed max_limit")
        return self


class SourceConfig(BaseModel):
    """`connector` picks the connector; the other keys are that connector's own config."""

    model_config = ConfigDict(extra="allow")
    connector: str = Field(description="Connector name, e.g. geojson, csv, geopackage.")

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class CollectionConfig(Strict):
    title: str | None = Field(None, description="Collection title (default: its id).")
    description: str | None = Field(None, description="What the collection holds.")
    keywords: list[str] = Field(default_factory=list, description="Keywords for catalogues.")
    profile: str | None = Field(
        None, description="Profile id (e.g. street-trees); without one, source fields as-is."
    )
    profile_version: str | None = Field(
        None,
        pattern=r"^\d+\.\d+\.\d+$",
        description="The profile version the mapping was written for, declared in the "
        "collection's `conformsTo`; start-up fails when the installed profile has another "
        "(unset: the installed one).",
    )
    source: SourceConfig = Field(
        description="Where the data comes from: `connector` plus that connector's keys."
    )
    mapping: Mapping | None = Field(None, description="Required when a profile is set.")
    temporal_property: str | None = Field(
        None, description="Property used by `datetime` (default: the profile's primary instant)."
    )
    resilience: Resilience | None = Field(
        None,
        description="Keys of server.resilience to set differently for this source, e.g. a "
        "longer timeout or a smaller concurrency.",
    )
    http_cache: CollectionHttpCache = Field(
        default_factory=CollectionHttpCache,
        description="HTTP caching of this collection's items.",
    )

    @model_validator(mode="after")
    def _mapping_with_profile(self) -> CollectionConfig:
        if self.profile and self.mapping is None:
            raise ValueError(f"profile '{self.profile}' needs a 'mapping' block")
        if self.profile_version and not self.profile:
            raise ValueError("'profile_version' needs a 'profile'")
        return self


class TenantConfig(Strict):
    title: str | None = Field(None, description="The tenant's name, e.g. 'Stadt Leipzig'.")
    description: str | None = Field(None, description="Shown on the tenant's landing page.")
    collections: dict[str, CollectionConfig] = Field(
        default_factory=dict, description="Collection id -> collection."
    )
    sensorthings: TenantSensorThings | None = Field(
        None, description="This tenant's SensorThings API at /{tenant}/sta/v1.1/; unset: none."
    )
    catalog: TenantCatalog = Field(
        default_factory=TenantCatalog,
        description="How /catalog describes this tenant's datasets (DCAT-AP publisher, area).",
    )
    access: TenantAccess = Field(
        default_factory=TenantAccess,
        description="Who may read and write this tenant's data: public reading by default, "
        "writes only with a key whose scopes allow them.",
    )
    rate_limits: TenantRateLimits | None = Field(
        None, description="This tenant's own rate limits (default: server.rate_limits)."
    )

    @field_validator("collections")
    @classmethod
    def _collection_ids(cls, value: dict[str, CollectionConfig]) -> dict[str, CollectionConfig]:
        for cid in value:
            if not re.match(COLLECTION_ID, cid):
                raise ValueError(
                    f"collection id '{cid}' must be letters, digits, '_' or '-' (max 63)"
                )
        return value


class GatewayConfig(Strict):
    server: ServerSettings = Field(
        default_factory=ServerSettings, description="Settings of the whole gateway."
    )
    tenants: dict[str, TenantConfig] = Field(
        default_factory=dict,
        description="Tenant id (a lower-case slug; it becomes the URL path /{tenant}/) -> tenant.",
    )

    @field_validator("tenants")
    @classmethod
    def _tenant_ids(cls, value: dict[str, TenantConfig]) -> dict[str, TenantConfig]:
        for tid in value:
            if not re.match(SLUG, tid):
                raise ValueError(f"tenant id '{tid}' must be a lower-case slug (a-z, 0-9, '-')")
            if tid in RESERVED_TENANTS:
                raise ValueError(f"tenant id '{tid}' is reserved ({', '.join(RESERVED_TENANTS)})")
        _distinct_topic_prefixes(value)
        return value


def _distinct_topic_prefixes(tenants: dict[str, TenantConfig]) -> None:
    """Tenants number their entities independently: two sharing an MQTT topic prefix would
    publish each other's `v1.1/Datastreams(1)/Observations` on the same topic."""
    seen: dict[str, str] = {}
    for tid, tenant in tenants.items():
        if tenant.sensorthings is None:
            continue
        prefix = tenant.sensorthings.mqtt.topic_prefix
        prefix = f"{tid}/" if prefix is None else prefix
        if prefix in seen:
            raise ValueError(
                f"tenants '{seen[prefix]}' and '{tid}' share the MQTT topic prefix '{prefix}': "
                "give each its own sensorthings.mqtt.topic_prefix"
            )
        seen[prefix] = tid


class LoadedConfig(BaseModel):
    """A validated configuration plus the folder that relative source paths start from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    config: GatewayConfig
    base_dir: Path
    origin: str


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(node: Any, path: str = "") -> Any:
    """Replace ${VAR} in every string; a missing variable is an error naming the key."""
    if isinstance(node, dict):
        return {k: expand_env(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [expand_env(v, f"{path}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str):

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                raise ConfigError(f"{path}: environment variable {name} is not set")
            return os.environ[name]

        return _VAR.sub(repl, node)
    return node


_UNION_TAG = re.compile(r"^(str|int|float|bool|list\[.*\]|dict\[.*\]|function-.*|[A-Z]\w*)$")


def _where(loc: tuple[Any, ...]) -> str:
    """A key path as the user wrote it, without pydantic's union-branch tags."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and _UNION_TAG.match(p))]
    return ".".join(parts) or "(top level)"


def format_validation_error(origin: str, error: ValidationError) -> str:
    lines = [f"{origin}: configuration is not valid"]
    errors = error.errors()
    # A value that may be "a string or a rule" fails both branches; name only the rule's error.
    detailed = {_where(e["loc"]) for e in errors if e["type"] != "string_type"}
    seen: set[str] = set()
    for e in errors:
        where = _where(e["loc"])
        if e["type"] == "string_type" and any(d.startswith(where) for d in detailed):
            continue
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling and its place in the file)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        line = f"  {where}: {msg}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return "\n".join(lines)


def parse_config(data: Any, origin: str, base_dir: Path) -> LoadedConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    try:
        data = expand_env(data)
    except ConfigError as e:
        raise ConfigError(f"{origin}: {e}") from None
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(origin, e)) from None
    return LoadedConfig(config=config, base_dir=base_dir, origin=origin)


def load_config(path: str | Path) -> LoadedConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from None
    return parse_config(data, str(path), path.parent.resolve())
