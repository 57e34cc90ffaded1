"""Deciding a request: identify the credential, then check the scope it needs."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from gateway.access.config import TenantAccess
from gateway.access.credentials import bearer_token, presented_key
from gateway.access.oidc import TenantTokens, Tokens, looks_like_jwt
from gateway.errors import Forbidden, Unauthorized

Scope = Literal["read", "write"]


@dataclass(frozen=True)
class Principal:
    id: str  # "key:<id>", "oidc:<sub>", "anonymous": for logs and rate limits, never a secret
    scopes: frozenset[str]
    issuer: str | None = None  # a token's `iss`, for the audit log

    def allows(self, scope: Scope, collection: str | None) -> bool:
        return scope in self.scopes or (
            collection is not None and f"{scope}:{collection}" in self.scopes
        )

    def allows_any(self, scope: Scope) -> bool:
        """Some `scope` in the tenant: enough for its landing page and collection list."""
        return any(s == scope or s.startswith(f"{scope}:") for s in self.scopes)


ANONYMOUS = Principal("anonymous", frozenset())


class Access:
    """One tenant's policy."""

    def __init__(self, tenant: str, settings: TenantAccess, tokens: Tokens | None = None) -> None:
        self.tenant = tenant
        self.public_read = settings.public_read
        self._tokens = TenantTokens(tenant, settings.oidc, tokens) if settings.oidc else None
        # the key's hash is the lookup: comparing hashes leaks nothing about a key
        self._keys = {
            bytes.fromhex(k.sha256): Principal(f"key:{k.id}", frozenset(k.scopes))
            for k in settings.api_keys
        }

    def writes_possible(self, collection: str) -> bool:
        """Whether some credential of this tenant could write the collection."""
        if self._tokens is not None:
            return True
        return any(p.allows("write", collection) for p in self._keys.values())

    @property
    def challenge(self) -> str:
        return f'Bearer realm="twinbridge/{self.tenant}"'

    def identify(self, headers: Mapping[str, str]) -> Principal | None:
        """The credential's principal; None without one; 401 for one that is not valid."""
        token = bearer_token(headers)
        if token is not None and "x-api-key" not in headers and looks_like_jwt(token):
            if self._tokens is None:
                raise Unauthorized(
                    "this tenant accepts no tokens", f'{self.challenge}, error="invalid_token"'
                )
            pid, issuer, scopes = self._tokens.principal_of(token, self.challenge)
            return Principal(pid, scopes, issuer)
        key = presented_key(headers)
        if key is None:
            return None
        principal = self._keys.get(hashlib.sha256(key.encode()).digest())
        if principal is None:
            raise Unauthorized(
                "the credential is not valid for this tenant",
                f'{self.challenge}, error="invalid_token"',
            )
        return principal

    def decide(self, headers: Mapping[str, str], collection: str | None, scope: Scope) -> Principal:
        principal = self.identify(headers)
        if scope == "read" and self.public_read:
            return principal or ANONYMOUS
        needed = scope if collection is None else f"{scope}:{collection}"
        if principal is None:
            raise Unauthorized(f"this needs a credential with the scope '{needed}'", self.challenge)
        if not principal.allows(scope, collection):
            raise Forbidden(f"the credential lacks the scope '{needed}' (or '{scope}')")
        return principal

    def decide_tenant_read(self, headers: Mapping[str, str]) -> Principal:
        """Reading the tenant's own documents (landing page, conformance, collection list,
        API): any read scope of the tenant will do."""
        principal = self.identify(headers)
        if self.public_read:
            return principal or ANONYMOUS
        if principal is None:
            raise Unauthorized("this needs a credential with the scope 'read'", self.challenge)
        if not principal.allows_any("read"):
            raise Forbidden("the credential lacks the scope 'read' (or 'read:<collection>')")
        return principal


def authorize(request: Request, tenant: str, collection: str | None, scope: Scope) -> Principal:
    """The principal that may do `scope` on the tenant's collection (None: the tenant as a
    whole), kept in `request.state.principal`; raises Unauthorized (401) or Forbidden (403)."""
    policies: Mapping[str, Access] = request.app.state.access
    principal = policies[tenant].decide(request.headers, collection, scope)
    request.state.principal = principal
    return principal
