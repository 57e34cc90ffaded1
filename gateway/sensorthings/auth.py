"""Who may write to a tenant's SensorThings API: the holder of the key in the environment
variable `api_key_env` (as always), and any credential of the tenant's `access` block (API
key or OIDC token) with the scope `write` or `write:sensorthings`.

Keys are accepted as `X-API-Key: <key>`, as `Authorization: Bearer <key>` or as the
password of HTTP Basic authentication (any user name), which is how frost-sta-client and
most STA clients authenticate. Neither key nor token is ever logged.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

from starlette.requests import Request

from gateway.access.config import TenantAccess
from gateway.access.credentials import presented_key
from gateway.access.policy import Access, Principal
from gateway.errors import GatewayError
from gateway.sensorthings.errors import Forbidden, Unauthorized

SENSORTHINGS = "sensorthings"  # the collection name scopes give the SensorThings API


def expected_key(env_name: str | None) -> str:
    if env_name is None:
        raise Forbidden("this SensorThings service is read-only")
    expected = os.environ.get(env_name)
    if not expected:
        raise Forbidden("writing is disabled: the service's API key is not set")
    return expected


def key_matches(given: str | None, env_name: str | None) -> bool:
    expected = expected_key(env_name)
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def require_key(headers: Mapping[str, str], env_name: str | None) -> None:
    expected_key(env_name)
    given = presented_key(headers)
    if given is None:
        raise Unauthorized("writing needs the API key (X-API-Key, Bearer token or Basic password)")
    if not key_matches(given, env_name):
        raise Forbidden("the API key is not valid")


def access_writes(settings: TenantAccess) -> bool:
    """Whether the tenant's `access` block can grant a SensorThings write at all: a key
    with `write` or `write:sensorthings`, or an OIDC provider (its tokens may)."""
    scopes = {"write", f"write:{SENSORTHINGS}"}
    return bool(settings.oidc) or any(scopes & set(k.scopes) for k in settings.api_keys)


def authorize_write(request: Request, tenant: str, env_name: str | None) -> Principal:
    """The writer, kept in `request.state.principal`; 401/403 otherwise. Without writers in
    the `access` block, exactly the environment key's rules and words apply."""
    given = presented_key(request.headers)
    env_key = os.environ.get(env_name) if env_name else None
    if given is not None and env_key and hmac.compare_digest(given.encode(), env_key.encode()):
        principal = Principal(f"key:{env_name}", frozenset({f"write:{SENSORTHINGS}"}))
    else:
        policies: Mapping[str, Access] = getattr(request.app.state, "access", {})
        policy = policies.get(tenant)
        if policy is None or not policy.writes_possible(SENSORTHINGS):
            require_key(request.headers, env_name)
        assert policy is not None  # require_key raised: the env key did not match
        principal = policy.decide(request.headers, SENSORTHINGS, "write")
    request.state.principal = principal
    return principal


def mqtt_writer(key: str | None, env_name: str | None, policy: Access | None) -> Principal | None:
    """Who a key sent over MQTT (password or user property `api-key`) writes as: the
    environment key, or an `access` key or token with `write:sensorthings`; None if it may
    not write. A token's keys must already be loaded (no fetch on this path)."""
    if key is None:
        return None
    env_key = os.environ.get(env_name) if env_name else None
    if env_key and hmac.compare_digest(key.encode(), env_key.encode()):
        return Principal(f"key:{env_name}", frozenset({f"write:{SENSORTHINGS}"}))
    principal = mqtt_principal(key, policy)
    return principal if principal and principal.allows("write", SENSORTHINGS) else None


def mqtt_principal(key: str, policy: Access | None) -> Principal | None:
    """The `access` principal of a key or token sent over MQTT; None if it is none."""
    if policy is None:
        return None
    try:
        return policy.identify({"authorization": f"Bearer {key}"})
    except GatewayError:
        return None
