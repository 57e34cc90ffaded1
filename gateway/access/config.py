"""The `access` block of a tenant (its API keys as hashes, the OIDC providers it trusts and
whether reading is public) and the server's `access` block (the OIDC providers)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# `read` / `write` for the whole tenant, `read:<collection>` / `write:<collection>` for one
# collection; the tenant's SensorThings API is the collection `sensorthings`.
SCOPE = r"^(read|write)(:[A-Za-z0-9_-]{1,63})?$"
# Only signatures made with a private key: `none` and HS* (a shared secret, which a public
# key must never be used as) cannot be configured.
Algorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_scopes(value: list[str]) -> list[str]:
    for scope in value:
        if not re.match(SCOPE, scope):
            raise ValueError(
                f"scope '{scope}' must be read, write, read:<collection> or write:<collection>"
            )
    return value


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
        return _check_scopes(value)


class OidcProvider(_Strict):
    """An identity provider whose access tokens (JWTs) the gateway verifies itself, with
    keys from the operator's configuration only: never from a URL a token or a request
    names (`jku`, `x5u`, discovery by `iss`)."""

    issuer: str = Field(
        min_length=1,
        description="The token's `iss`, exactly, e.g. `https://login.example.org/realms/city`.",
    )
    audience: list[str] = Field(
        min_length=1,
        description="Accepted `aud` values (a token must name one of them), e.g. `twinbridge`.",
    )
    jwks_file: Path | None = Field(
        None,
        description="A JWKS file with the provider's public keys (relative to the config file).",
    )
    jwks_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="The provider's JWKS URL (Keycloak: `<issuer>/protocol/openid-connect/"
        "certs`), fetched at start-up and again for an unknown `kid`, at most every "
        "`refresh_seconds`.",
    )
    discovery_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="The provider's OpenID Connect discovery document (Keycloak: `<issuer>/"
        ".well-known/openid-configuration`): published in the OpenAPI document as an "
        "`openIdConnect` security scheme, so that clients learn where to get tokens. Never "
        "fetched by the gateway (its keys come from `jwks_file` or `jwks_url`); without it "
        "the document names an HTTP bearer scheme (JWT).",
    )
    algorithms: list[Algorithm] = Field(
        default_factory=lambda: ["RS256", "ES256"],
        min_length=1,
        description="Accepted signature algorithms; `none` and HS* are never accepted.",
    )
    leeway: float = Field(
        30, ge=0, le=600, description="Clock skew tolerated on `exp`, `nbf` and `iat` (seconds)."
    )
    scope_claim: str = Field(
        "scope",
        pattern=r"^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$",
        description="The claim holding the token's scopes: a space-separated string (`scope`) "
        "or a list (`scp`, `roles`); dots walk into objects (Keycloak: `realm_access.roles`).",
    )
    refresh_seconds: float = Field(
        300, ge=1, description="At most one fetch of `jwks_url` in this time (an unknown `kid`)."
    )
    timeout: float = Field(5, gt=0, le=60, description="Timeout of a JWKS fetch (seconds).")

    @field_validator("audience", mode="before")
    @classmethod
    def _one_audience(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_key_source(self) -> OidcProvider:
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("give exactly one of 'jwks_file' and 'jwks_url'")
        return self


class ServerAccess(_Strict):
    oidc: dict[str, OidcProvider] = Field(
        default_factory=dict,
        description="Provider name -> OIDC provider; tenants name the ones they accept.",
    )

    @field_validator("oidc")
    @classmethod
    def _distinct_issuers(cls, value: dict[str, OidcProvider]) -> dict[str, OidcProvider]:
        """A token's `iss` picks its provider: two providers cannot share one."""
        seen: dict[str, str] = {}
        for name, provider in value.items():
            if provider.issuer in seen:
                raise ValueError(
                    f"providers '{seen[provider.issuer]}' and '{name}' share the issuer "
                    f"'{provider.issuer}'"
                )
            seen[provider.issuer] = name
        return value


class TenantOidc(_Strict):
    """How one provider's tokens become this tenant's scopes."""

    provider: str = Field(description="A provider name from `server.access.oidc`.")
    scope_prefix: str | None = Field(
        None,
        description="A token scope `<prefix><scope>` grants `<scope>` here; default "
        "`twinbridge:<tenant>:`, so `twinbridge:hamburg:write:street-trees` grants "
        "`write:street-trees` in the tenant hamburg. Empty: token scopes are the tenant's.",
    )
    scope_map: dict[str, list[str]] = Field(
        default_factory=dict,
        description="A claim value (a role, a group) -> the tenant scopes it grants, e.g. "
        "`tree-editors: [write:street-trees]`.",
    )

    @field_validator("scope_map")
    @classmethod
    def _mapped_scopes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for scopes in value.values():
            _check_scopes(scopes)
        return value


class TenantAccess(_Strict):
    public_read: bool = Field(
        True,
        description="Anyone may read (the default). False: reading needs a `read` scope too, "
        "and the federated root and /sta/ leave the tenant out.",
    )
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description="Keys accepted as `X-API-Key`, `Authorization: Bearer` or the password of "
        "HTTP Basic. Without keys, nothing of the tenant can be written.",
    )
    oidc: list[TenantOidc] = Field(
        default_factory=list,
        description="OIDC providers whose bearer tokens this tenant accepts, and how their "
        "scopes map to the tenant's.",
    )

    @field_validator("oidc")
    @classmethod
    def _providers_once(cls, value: list[TenantOidc]) -> list[TenantOidc]:
        names = [rule.provider for rule in value]
        if len(names) != len(set(names)):
            raise ValueError("name each OIDC provider once")
        return value


REFERENCE_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("`server.access`", ServerAccess),
    ("`server.access.oidc.<provider>`", OidcProvider),
    ("`tenants.<tenant>.access`", TenantAccess),
    ("`tenants.<tenant>.access.api_keys[]`", ApiKey),
    ("`tenants.<tenant>.access.oidc[]`", TenantOidc),
]
