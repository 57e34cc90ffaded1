"""Which client application sent a request: its API key or its `X-Client` name, as a keyed
hash. Never the key or the name itself, never an IP address or a user agent: the figures
count applications, and nothing stored can lead back to a person."""

from __future__ import annotations

import hashlib
import hmac
import re

from starlette.datastructures import Headers
from starlette.types import Scope

from gateway.access.credentials import presented_key
from gateway.access.oidc import looks_like_jwt, token_client

# A short application token such as `masterportal`, `qgis-3.34` or `city/app_2`; anything
# else (too long, spaces, an e-mail address) is counted as unidentified, never refused.
CLIENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,63}")
_KEY_HEADERS = (b"x-api-key", b"authorization")
_CACHED = 4096


def valid_client_name(value: str) -> bool:
    return CLIENT_NAME.fullmatch(value) is not None


class ClientIdentity:
    """`identify(scope)` gives a client's id (a short keyed hash) or None (unidentified).
    Hashes are memoised, bounded: the same few applications ask all day."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self._known: dict[bytes, str] = {}

    def identify(self, scope: Scope) -> str | None:
        key, name = False, b""
        for header, value in scope["headers"]:
            if header in _KEY_HEADERS:
                key = True
            elif header == b"x-client":
                name = value
        if key:  # an API key says more than a name a client chose
            given = presented_key(Headers(scope=scope))
            if given is not None and looks_like_jwt(given):
                return self._hashed(b"t\0" + token_client(given))
            if given is not None:
                return self._hashed(b"k\0" + given.encode("utf-8", "replace"))
        if name:
            text = name.decode("latin-1").strip()
            if valid_client_name(text):
                return self._hashed(b"c\0" + text.encode())
        return None

    def _hashed(self, material: bytes) -> str:
        known = self._known.get(material)
        if known is None:
            if len(self._known) >= _CACHED:
                self._known.clear()
            digest = hmac.new(self.secret, material, hashlib.sha256).hexdigest()[:20]
            known = self._known[material] = digest
        return known


def derived_secret(configuration: str) -> bytes:
    """Without a configured secret: a key every worker loading the same configuration
    derives alike, so one client counts once across workers."""
    return hashlib.sha256(b"twinbridge usage clients\0" + configuration.encode()).digest()
