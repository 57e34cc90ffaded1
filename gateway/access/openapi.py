"""What a tenant's access configuration means for its OpenAPI document: the security
schemes a client may use (`components.securitySchemes`) and the requirement an operation
that needs a credential declares (`security`: any one of the schemes will do).

The schemes follow the configuration only: `apiKey` (header `X-API-Key`) when the tenant has
API keys, `openIdConnect` for a provider whose discovery URL the operator configured (the
gateway never fetches it), an HTTP bearer scheme (JWT) for the other providers. `secure`
puts them into a document: the schemes in its components and, on a closed tenant
(`public_read: false`), the requirement on every read too (write operations carry theirs
already); public reads carry none. The Features and the SensorThings documents share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gateway.access.config import ServerAccess, TenantAccess

API_KEY = "apiKey"
BEARER = "bearer"
METHODS = ("get", "head", "post", "put", "patch", "delete")
_READ_REFUSALS = {
    "401": "A credential with a read scope of the tenant is needed (WWW-Authenticate says how).",
    "403": "The credential lacks the read scope.",
}


@dataclass(frozen=True)
class ApiSecurity:
    schemes: dict[str, dict[str, Any]]
    public_read: bool
    requirement: list[dict[str, list[str]]] = field(default_factory=list)


def scheme_name(provider: str) -> str:
    """A provider's scheme name, within what OpenAPI allows for component names."""
    return "oidc-" + re.sub(r"[^A-Za-z0-9._-]", "_", provider)


def _bearer(issuers: list[str]) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token (a signed JWT) of "
        + ", ".join(f"`{i}`" for i in issuers)
        + "; its scopes map to the tenant's.",
    }


def api_security(tenant: TenantAccess, server: ServerAccess) -> ApiSecurity | None:
    """The tenant's schemes and requirement; None when it accepts no credential at all."""
    schemes: dict[str, dict[str, Any]] = {}
    if tenant.api_keys:
        schemes[API_KEY] = {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key of the tenant (also taken as `Authorization: Bearer "
            "<key>` or as the password of HTTP Basic).",
        }
    plain_issuers = []
    for rule in tenant.oidc:
        provider = server.oidc[rule.provider]
        if provider.discovery_url is None:
            plain_issuers.append(provider.issuer)
            continue
        schemes[scheme_name(rule.provider)] = {
            "type": "openIdConnect",
            "openIdConnectUrl": provider.discovery_url,
            "description": f"An access token of `{provider.issuer}`; its scopes map to the "
            "tenant's.",
        }
    if plain_issuers:
        schemes[BEARER] = _bearer(plain_issuers)
    if not schemes:
        return None
    return ApiSecurity(schemes, tenant.public_read, [{name: []} for name in schemes])


def secure(doc: dict[str, Any], security: ApiSecurity | None) -> None:
    if security is None:
        return
    doc["components"]["securitySchemes"] = security.schemes
    if security.public_read:
        return
    for operations in doc["paths"].values():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None or "security" in operation:
                continue
            operation["security"] = security.requirement
            responses = operation["responses"]
            for status, description in _READ_REFUSALS.items():
                if status not in responses:
                    responses[status] = {"description": description}


__all__ = ["API_KEY", "BEARER", "ApiSecurity", "api_security", "scheme_name", "secure"]
