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
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from gateway.access.config import OidcProvider

log = logging.getLogger("twinbridge.access.oidc")
MAX_JWKS_BYTES = 1_000_000
# Which key type an algorithm needs: a token cannot make an RSA key verify ES256, nor any
# public key act as an HMAC secret (HS* is not configurable at all).
KEY_TYPES: dict[str, tuple[type, ...]] = {
    "RS": (rsa.RSAPublicKey,),
    "PS": (rsa.RSAPublicKey,),
    "ES": (ec.EllipticCurvePublicKey,),
    "Ed": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}


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
        return await jwks_document(self.cfg, self.file)


class JwksUnavailable(ValueError):
    """The JWKS could not be had: the message says why, naming the file or URL."""


def shown_url(url: str) -> str:
    """The URL as logs and reports show it: without user, password and query, where an
    operator may have put a credential."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    query = "?…" if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, "", "")) + query


async def jwks_document(cfg: OidcProvider, file: Path | None) -> bytes:
    """The JWKS as the operator configured it: the file's bytes, or the URL's answer (no
    redirects followed, at most MAX_JWKS_BYTES, within `timeout`)."""
    if file is not None:
        try:
            return await asyncio.to_thread(file.read_bytes)
        except OSError as e:
            raise JwksUnavailable(f"cannot read the JWKS file {file}: {e.strerror}") from None
    assert cfg.jwks_url is not None
    url, shown = cfg.jwks_url, shown_url(cfg.jwks_url)
    client = httpx.AsyncClient(timeout=cfg.timeout, follow_redirects=False)
    try:
        async with client, client.stream("GET", url) as response:
            if not response.is_success:
                raise JwksUnavailable(
                    f"the JWKS URL {shown} answered {response.status_code} "
                    f"{response.reason_phrase}".rstrip()
                )
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise JwksUnavailable(
                        f"the JWKS at {shown} is larger than {MAX_JWKS_BYTES} bytes"
                    )
            return body
    except httpx.TimeoutException:
        raise JwksUnavailable(
            f"the JWKS URL {shown} did not answer within {cfg.timeout:g} s"
        ) from None
    except httpx.HTTPError as e:
        raise JwksUnavailable(f"cannot fetch the JWKS URL {shown}: {e}") from None


def parse_jwks(document: bytes, left_out: list[str] | None = None) -> dict[str | None, SigningKey]:
    """The signing keys of a JWKS by `kid`; encryption keys and key types PyJWT does not
    know are left out (and named in `left_out`, when given)."""
    try:
        data: Any = orjson.loads(document)
    except orjson.JSONDecodeError:
        raise ValueError("not a JWKS: not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("not a JWKS: a JWKS is an object with a 'keys' list")
    keys: dict[str | None, SigningKey] = {}
    for entry in data["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError as e:
            log.warning("a JWKS key (kid %s) is left out: %s", entry.get("kid"), e)
            if left_out is not None:
                left_out.append(f"key {entry.get('kid')!r} left out: {e}")
            continue
        keys[key.key_id] = SigningKey(key.key, entry.get("alg"))
    return keys


def signs_with(key: SigningKey, alg: str) -> bool:
    """Whether `key` may verify `alg`: the JWKS's own `alg` pin, and the key type the
    algorithm needs (an RSA key never verifies ES256, no public key is an HMAC secret)."""
    types = KEY_TYPES.get(alg[:2])
    return key.alg in (None, alg) and types is not None and isinstance(key.key, types)
