"""Configuration of the SensorThings facade: a `sensorthings` block per tenant and one for
the server. `gateway/config.py` only references these models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.remote.http import HttpSettings
from gateway.resilience import Resilience
from gateway.sensorthings.odata.limits import (
    MAX_EXPAND_DEPTH,
    MAX_EXPRESSION_DEPTH,
    MAX_JOINS,
    Limits,
)
from gateway.sensorthings.store.values import WriteLimits
from gateway.sensorthings.sync.config import (
    AttributeSelection,
    HistoryConfig,
    NgsiSubscriptionConfig,
    NgsiSync,
)
from gateway.sensorthings.sync.restconfig import RestReading, RestStations, RestSync

if TYPE_CHECKING:
    from gateway.sensorthings.sync.profiled import ProfileBinding


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StoreConfig(_Strict):
    """The embedded STA store of one tenant."""

    kind: Literal["sqlite", "postgres"] = Field(
        "sqlite", description="sqlite (a file, created on first start) or postgres."
    )
    path: str | None = Field(
        None,
        description="SQLite file (relative to the configuration file); required for sqlite.",
    )
    dsn: str | None = Field(
        None,
        description="PostgreSQL connection string, e.g. postgresql://user@host/db (use ${VAR} "
        "for a password); required for postgres.",
    )
    db_schema: str | None = Field(
        None,
        alias="schema",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema holding this tenant's tables (default: sta_<tenant>).",
    )
    readers: int = Field(
        4,
        ge=1,
        le=64,
        description="Concurrent reads per worker process: SQLite's reader threads; for "
        "postgres the connection pool holds up to readers + 1 connections (reads and writes).",
    )

    @model_validator(mode="after")
    def _where(self) -> StoreConfig:
        if self.kind == "sqlite" and not self.path:
            raise ValueError("a sqlite store needs 'path'")
        if self.kind == "postgres" and not self.dsn:
            raise ValueError("a postgres store needs 'dsn'")
        return self


class UpstreamConfig(HttpSettings):
    """An upstream SensorThings server (FROST, istSOS, another TwinBridge) proxied live;
    the wall-clock deadline of each request is the tenant's resilience.timeout."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    url: str = Field(
        description="Service root of the upstream, e.g. https://iot.hamburg.de/v1.1",
        pattern=r"^https?://",
    )


class AotImport(_Strict):
    """A periodic import of an Array-of-Things-style digest folder into the store."""

    format: Literal["aot"] = Field("aot", description="Import format.")
    path: str = Field(
        description="Folder with nodes.csv, sensors.csv and data.csv.gz (relative to the "
        "configuration file)."
    )
    interval: float = Field(
        0,
        ge=0,
        description="Seconds between imports; 0 imports once at start-up. Rows already "
        "imported are skipped (per datastream, by phenomenonTime).",
    )
    profile: str | None = Field(
        None,
        description="SensorThings profile (kind sensorthings, e.g. energy) the digest's "
        "Datastreams conform to: a sensor mapped in observed_properties, in the profile's "
        "unit, gets the profile's ObservedProperty (definition URI), UCUM unit and "
        "observationType, its Datastream declares properties.profile and "
        "properties.profileVersion, and every Thing gets stationId (the node id); unset: the "
        "plain mapping (definition = the AoT ontology path).",
    )
    profile_version: str | None = Field(
        None,
        pattern=r"^\d+\.\d+\.\d+$",
        description="The profile version this digest is declared to conform to; start-up "
        "fails when the installed profile has another (unset: the installed one).",
    )
    observed_properties: dict[str, str] = Field(
        default_factory=dict,
        description="A sensor's ontology path (e.g. /sensing/energy/active_power) or "
        "subsystem.sensor.parameter -> the profile's observed-property key; a digest has no "
        "Smart Data Models names, so only mapped sensors are declared.",
    )

    @model_validator(mode="after")
    def _profile_fits(self) -> AotImport:
        """The profile exists, is a SensorThings one, has the declared version and knows
        the mapped keys; so a misfit stops start-up, not an import."""
        import profiles
        from gateway.sensorthings.sync.profiled import ProfileMismatch

        if self.profile is None:
            if self.profile_version or self.observed_properties:
                raise ValueError("'profile_version'/'observed_properties' need a 'profile'")
            return self
        if not self.observed_properties:
            raise ValueError("'profile' needs 'observed_properties' (sensor -> profile key)")
        try:
            self.profile_binding()
        except (ProfileMismatch, profiles.UnknownProfile, profiles.ProfileError) as e:
            raise ValueError(f"profile: {e}") from None
        return self

    def profile_binding(self) -> ProfileBinding | None:
        """The configured profile, ready for the import (None without one)."""
        from gateway.sensorthings.sync.profiled import ProfileBinding

        if self.profile is None:
            return None
        return ProfileBinding.load(self.profile, self.profile_version, self.observed_properties)


class TenantMqtt(_Strict):
    topic_prefix: str | None = Field(
        None,
        description="Prefix of this tenant's MQTT topics (default '<tenant>/', so topics read "
        "'<tenant>/v1.1/Datastreams(1)/Observations'); '' gives the bare standard topics.",
        pattern=r"^([A-Za-z0-9_.-]+/)*$",
    )
    publish: bool = Field(True, description="Publish created and updated entities.")
    create: bool = Field(
        True,
        description="Create Observations published to v1.1/Observations and "
        "v1.1/Datastreams(id)/Observations (see anonymous_writes).",
    )
    anonymous_writes: bool = Field(
        False,
        description="Accept MQTT creates through the broker without the API key (the broker's "
        "own ACL is then the guard). Otherwise the publisher sends the key as MQTT 5 user "
        "property 'api-key'. The gateway's WebSocket endpoints always need the key.",
    )


class TenantSensorThings(_Strict):
    """SensorThings API of one tenant: an embedded store or an upstream server."""

    title: str | None = Field(None, description="Shown in the federated view's source list.")
    store: StoreConfig | None = Field(None, description="The embedded store (SQLite/PostgreSQL).")
    upstream: UpstreamConfig | None = Field(None, description="Proxy this STA server instead.")
    api_key_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the API key that create/update/"
        "delete need (header X-API-Key, Bearer token or Basic password). Unset: read-only.",
    )
    mqtt: TenantMqtt = Field(default_factory=TenantMqtt)
    imports: list[AotImport] = Field(default_factory=list, description="Periodic imports.")
    sync: list[Annotated[NgsiSync | RestSync, Field(discriminator="kind")]] = Field(
        default_factory=list,
        description="Sources synchronised into the store: NGSI context brokers (kind "
        "ngsi-v2 or ngsi-ld) whose observation entities become Things, Datastreams and "
        "Observations, by polling and, with a subscription, by notification; and REST/JSON "
        "APIs (kind rest) polled into a SensorThings profile.",
    )
    resilience: Resilience | None = Field(
        None,
        description="Keys of server.resilience to set differently for this tenant's reads "
        "(the upstream's, or the store's).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> TenantSensorThings:
        if (self.store is None) == (self.upstream is None):
            raise ValueError("give exactly one of 'store' or 'upstream'")
        if self.upstream is not None and (self.imports or self.sync):
            raise ValueError("'imports' and 'sync' need an embedded 'store', not an upstream")
        names = [s.name for s in self.sync]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"sync source names must differ: {', '.join(twice)} given twice")
        return self


class MqttBroker(_Strict):
    host: str = Field("127.0.0.1", description="MQTT broker host.")
    port: int = Field(1883, ge=1, le=65535, description="MQTT broker port.")
    username: str | None = Field(None, description="Broker user name.")
    password: str | None = Field(None, description="Broker password (use ${VAR}).")
    public_url: str | None = Field(
        None,
        description="Endpoint announced in the root document (default mqtt://host:port).",
    )


class WebSocketSettings(_Strict):
    """MQTT over WebSockets on the gateway's own port: `/{tenant}/mqtt` for each tenant with
    an embedded store, `/mqtt` for the federated view (see gateway/sensorthings/ws/)."""

    enabled: bool = Field(
        True,
        description="Serve MQTT 3.1.1 and 5 over WebSockets (subprotocol 'mqtt') at "
        "/{tenant}/mqtt and /mqtt, with the standard STA topics.",
    )
    max_connections: int = Field(
        1000,
        ge=1,
        description="Most MQTT WebSocket connections one worker holds; more are refused.",
    )
    max_packet_bytes: int = Field(
        262_144,
        ge=1024,
        le=16_777_216,
        description="Largest MQTT packet a client may send (announced as Maximum Packet Size "
        "in MQTT 5); a larger one closes the connection.",
    )
    max_subscriptions: int = Field(
        64, ge=1, le=10_000, description="Most topics one client may subscribe to at once."
    )
    max_topic_length: int = Field(
        256, ge=16, le=65_535, description="Longest topic (in characters) a client may use."
    )
    max_keepalive: int = Field(
        300,
        ge=10,
        le=65_535,
        description="Seconds: an MQTT 5 client asking for a longer keep-alive (or none) is told "
        "this one (Server Keep Alive); a client silent for 1.5 times its keep-alive is "
        "disconnected.",
    )
    max_inflight: int = Field(
        32,
        ge=1,
        le=65_535,
        description="QoS 2 messages a client may have unreleased at once (Receive Maximum).",
    )
    max_queued: int = Field(
        1000,
        ge=10,
        description="Messages waiting to be written to one client; a client that falls this "
        "far behind is disconnected (its QoS 1/2 promises could not be kept).",
    )


class StaServerSettings(_Strict):
    default_top: int = Field(100, ge=1, description="Page size when a client sends no $top.")
    max_top: int = Field(10000, ge=1, description="Larger $top values are clamped to this.")
    mqtt: MqttBroker | None = Field(
        None,
        description="MQTT broker for notifications and creates (and behind the WebSocket "
        "endpoints, so that every worker's writes reach every subscriber); unset: the "
        "WebSocket endpoints are served by an in-process hub (one worker).",
    )
    websocket: WebSocketSettings = Field(default_factory=WebSocketSettings)
    max_expand_depth: int = Field(
        10,
        ge=1,
        le=MAX_EXPAND_DEPTH,
        description="Deepest `$expand` (`Datastreams/Thing` is 2 levels, nested options "
        "count too), and deepest nesting of entities in one create body; deeper is a 400.",
    )
    max_expression_depth: int = Field(
        64,
        ge=8,
        le=MAX_EXPRESSION_DEPTH,
        description="Deepest nesting of a `$filter` or `$orderby` expression (parentheses, "
        "operators, function calls, one level per path segment; a run of `and` or `or` "
        "counts as the logarithm of its length); deeper is a 400.",
    )
    max_joins: int = Field(
        10,
        ge=1,
        le=MAX_JOINS,
        description="Most relations the `$filter`, `$skipFilter` and `$orderby` of one level "
        "may walk together (`Datastream/Thing/name` walks 2; each is a join, and a "
        "database's planning time grows faster than their number); more is a 400.",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest request body (create, update, CreateObservations), enforced "
        "while it streams in, whatever Content-Length says; larger is a 413.",
    )
    max_text_length: int = Field(
        10_000,
        ge=1,
        description="Most characters of a text property (name, description, definition, "
        "encodingType, observationType); longer is a 400.",
    )
    max_json_bytes: int = Field(
        65_536,
        ge=64,
        description="Most bytes of a JSON property as stored (properties, parameters, "
        "metadata, result, unitOfMeasurement, a Location's location, a FeatureOfInterest's "
        "feature); larger is a 400. Raise it for detailed geometries.",
    )
    max_json_depth: int = Field(
        32,
        ge=1,
        le=128,
        description="Deepest nesting of arrays and objects in a JSON property; deeper is a 400.",
    )

    @model_validator(mode="after")
    def _tops(self) -> StaServerSettings:
        if self.default_top > self.max_top:
            raise ValueError("default_top must not exceed max_top")
        return self

    def odata_limits(self) -> Limits:
        return Limits(self.max_expand_depth, self.max_expression_depth, self.max_joins)

    def write_limits(self) -> WriteLimits:
        return WriteLimits(
            self.max_text_length, self.max_json_bytes, self.max_json_depth, self.max_expand_depth
        )


# For the configuration reference (gateway/configdoc.py): the STA blocks, in reading order.
REFERENCE_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("`server.sensorthings`", StaServerSettings),
    ("`server.sensorthings.mqtt`", MqttBroker),
    ("`server.sensorthings.websocket`", WebSocketSettings),
    ("`tenants.<tenant>.sensorthings`", TenantSensorThings),
    ("`tenants.<tenant>.sensorthings.store`", StoreConfig),
    ("`tenants.<tenant>.sensorthings.upstream`", UpstreamConfig),
    ("`tenants.<tenant>.sensorthings.mqtt`", TenantMqtt),
    ("`tenants.<tenant>.sensorthings.imports[]`", AotImport),
    ("`tenants.<tenant>.sensorthings.sync[]`", NgsiSync),
    ("`tenants.<tenant>.sensorthings.sync[].attributes`", AttributeSelection),
    ("`tenants.<tenant>.sensorthings.sync[].subscription`", NgsiSubscriptionConfig),
    ("`tenants.<tenant>.sensorthings.sync[].history`", HistoryConfig),
    ("`tenants.<tenant>.sensorthings.sync[]` (kind rest)", RestSync),
    ("`tenants.<tenant>.sensorthings.sync[].stations` (kind rest)", RestStations),
    ("`tenants.<tenant>.sensorthings.sync[].readings.<key>` (kind rest)", RestReading),
]
