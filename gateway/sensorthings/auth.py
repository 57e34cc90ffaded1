"""Who may write: reading is open; create/update/delete need the tenant's API key.

The key is read from the environment variable named by `api_key_env` (never from the
configuration file, never logged) and accepted as `X-API-Key: <key>`, as
`Authorization: Bearer <key>` or as the password of HTTP Basic authentication (any user
name), which is how frost-sta-client and most STA clients authenticate. Without
`api_key_env` the tenant's SensorThings API is read-only.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

from gateway.access.credentials import presented_key
from gateway.sensorthings.errors import Forbidden, Unauthorized


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
