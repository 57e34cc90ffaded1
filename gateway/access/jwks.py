"""A provider's public keys (a JWKS), from a file or a URL the operator configured.

Loaded at start-up; a token with an unknown `kid` (the provider rotated its keys) makes the
set load again, but at most once every `refresh_seconds`, so tokens with made-up `kid`s
cannot make the gateway hammer the provider.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import jwt
import orjson

from gateway.access.config import OidcProvider

log = logging.getLogger("twinbridge.access.oidc")
MAX_JWKS_BYTES = 1_000_000


class SigningKey(NamedTuple):
    key: Any  # a cryptography public key
    alg: str | None  # the algorithm the JWKS pins it to, if it does


class KeySet:
    def __init__(self, name: str, cfg: OidcProvider, base_dir: Path) -> None:
        self.name = name
        self.cfg = cfg
        self.file = base_dir / cfg.jwks_file if cfg.jwks_file is not None else None
        self.keys: dict[str | None, SigningKey] = {}
        self._loaded_at = -float("inf")
        self._lock = asyncio.Lock()

    def get(self, kid: object) -> SigningKey | None:
        if kid is not None and not isinstance(kid, str):
            return None  # a token's header may hold anything
        if kid is None and len(self.keys) == 1:  # a provider with one key may omit `kid`
            return next(iter(self.keys.values()))
        return self.keys.get(kid)

    async def load(self) -> None:
        """Start-up: a provider that cannot be reached is logged, not fatal (the other
        tenants still serve); its tokens are refused until a refresh succeeds."""
        async with self._lock:
            await self._load()

    async def refresh(self, kid: object) -> None:
        """Load again for an unknown `kid`, unless the last load was too recent."""
        async with self._lock:
            due = time.monotonic() - self._loaded_at >= self.cfg.refresh_seconds
            if due and self.get(kid) is None:
                await self._load()

    async def _load(self) -> None:
        self._loaded_at = time.monotonic()
        try:
            document = await self._document()
            self.keys = parse_jwks(document)
        except (OSError, httpx.HTTPError, ValueError, jwt.PyJWTError) as e:
            log.error("OIDC provider %s: its keys could not be loaded: %s", self.name, e)
            return
        log.info("OIDC provider %s: %d keys loaded", self.name, len(self.keys))

    async def _document(self) -> bytes:
        if self.file is not None:
            return await asyncio.to_thread(self.file.read_bytes)
        assert self.cfg.jwks_url is not None
        client = httpx.AsyncClient(timeout=self.cfg.timeout, follow_redirects=False)
        async with client, client.stream("GET", self.cfg.jwks_url) as response:
            response.raise_for_status()
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
            return body


def parse_jwks(document: bytes) -> dict[str | None, SigningKey]:
    """The signing keys of a JWKS by `kid`; encryption keys and key types PyJWT does not
    know are left out."""
    data: Any = orjson.loads(document)
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("a JWKS is an object with a 'keys' list")
    keys: dict[str | None, SigningKey] = {}
    for entry in data["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError as e:
            log.warning("a JWKS key (kid %s) is left out: %s", entry.get("kid"), e)
            continue
        keys[key.key_id] = SigningKey(key.key, entry.get("alg"))
    return keys
