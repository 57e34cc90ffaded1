"""Deciding a request: identify the credential, then check the scope it needs."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from gateway.access.config import TenantAccess
from gateway.access.credentials import presented_key
from gateway.errors import Forbidden, Unauthorized

Scope = Literal["read", "write"]


@dataclass(frozen=True)
class Principal:
    id: str  # "key:<id>", "anonymous": for logs and rate limits, never a secret
    scopes: frozenset[str]

    def allows(self, scope: Scope, collection: str | None) -> bool:
        return scope in self.scopes or (
            collection is not None and f"{scope}:{collection}" in self.scopes
        )


ANONYMOUS = Principal("anonymous", frozenset())


class Access:
    """One tenant's policy."""

    def __init__(self, tenant: str, settings: TenantAccess) -> None:
        self.tenant = tenant
        self.public_read = settings.public_read
        # the key's hash is the lookup: comparing hashes leaks nothing about a key
        self._keys = {
            bytes.fromhex(k.sha256): Principal(f"key:{k.id}", frozenset(k.scopes))
            for k in settings.api_keys
        }

    @property
    def challenge(self) -> str:
        return f'Bearer realm="twinbridge/{self.tenant}"'

    def identify(self, headers: Mapping[str, str]) -> Principal | None:
        """The credential's principal; None without one; 401 for one that is not valid."""
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


def authorize(request: Request, tenant: str, collection: str | None, scope: Scope) -> Principal:
    """The principal that may do `scope` on the tenant's collection (None: the tenant as a
    whole), kept in `request.state.principal`; raises Unauthorized (401) or Forbidden (403)."""
    policies: Mapping[str, Access] = request.app.state.access
    principal = policies[tenant].decide(request.headers, collection, scope)
    request.state.principal = principal
    return principal
