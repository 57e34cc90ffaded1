"""OIDC bearer tokens: a JWT signed by a provider the operator configured, checked for
issuer, audience, time (with leeway) and algorithm, its scopes mapped to a tenant's.

Verification is synchronous and uses the keys in memory; `Tokens.prepare` (run by the
access middleware before any route) loads a provider's keys again when a token names a
`kid` not yet known, so routes calling `authorize()` never wait for the network.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt

from gateway.access.config import SCOPE, OidcProvider, TenantOidc
from gateway.access.jwks import KeySet, signs_with
from gateway.errors import Unauthorized

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
VERIFIED_KEPT = 1024  # tokens verified per tenant kept in memory (until their `exp`)
_SUBJECT = re.compile(r"[A-Za-z0-9@._:+-]{1,128}")
_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidIssuerError, "the token's issuer is not accepted here"),
    (jwt.InvalidAudienceError, "the token is meant for another audience"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim (exp, iss, aud, sub)"),
]


def looks_like_jwt(value: str) -> bool:
    return _JWT.fullmatch(value) is not None


def invalid(challenge: str, reason: str) -> Unauthorized:
    return Unauthorized(
        f"the token is not valid: {reason}",
        f'{challenge}, error="invalid_token", error_description="{reason}"',
    )


class Provider:
    """One configured provider: its keys and the checks its tokens must pass."""

    def __init__(self, name: str, cfg: OidcProvider, base_dir: Path) -> None:
        self.name = name
        self.cfg = cfg
        self.keys = KeySet(name, cfg, base_dir)

    def verify(self, token: str, header: Mapping[str, Any], challenge: str) -> dict[str, Any]:
        alg = header.get("alg")
        if alg not in self.cfg.algorithms:
            raise invalid(challenge, f"the algorithm '{_shown(alg)}' is not accepted")
        key = self.keys.get(header.get("kid"))
        if key is None:
            raise invalid(challenge, "the token's key (kid) is not known")
        if not signs_with(key, str(alg)):
            raise invalid(challenge, f"the key does not sign with '{alg}'")
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[str(alg)],
                audience=self.cfg.audience,
                issuer=self.cfg.issuer,
                leeway=self.cfg.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as e:
            reason = next((text for kind, text in _REASONS if isinstance(e, kind)), None)
            raise invalid(challenge, reason or "the token cannot be read") from None

    def claim_values(self, claims: Mapping[str, Any]) -> list[str]:
        """The scope claim as a list: `scope` is space-separated, `scp`/`roles` are lists;
        `a.b` walks into objects (Keycloak's `realm_access.roles`)."""
        value: Any = claims
        for part in self.cfg.scope_claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value.split()
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str)]
        return []


class Tokens:
    """Every configured provider, by name and by issuer."""

    def __init__(self, providers: Mapping[str, OidcProvider], base_dir: Path) -> None:
        self.by_name = {name: Provider(name, cfg, base_dir) for name, cfg in providers.items()}
        self.by_issuer = {p.cfg.issuer: p for p in self.by_name.values()}

    async def open(self) -> None:
        for provider in self.by_name.values():
            await provider.keys.load()

    async def prepare(self, token: str) -> None:
        """Before the route: a token from a known issuer naming an unknown `kid` loads
        that provider's keys again (rate-limited). The issuer only picks among the
        configured providers; nothing in a token is ever fetched."""
        try:
            header = jwt.get_unverified_header(token)
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return  # verification says why
        provider = self.by_issuer.get(issuer) if isinstance(issuer, str) else None
        if provider is not None and provider.keys.get(header.get("kid")) is None:
            await provider.keys.refresh(header.get("kid"))


class TenantTokens:
    """The providers one tenant accepts, and how their scopes become the tenant's."""

    def __init__(self, tenant: str, accepted: list[TenantOidc], tokens: Tokens | None) -> None:
        self.rules: dict[str, tuple[Provider, TenantOidc, str]] = {}
        self._verified: dict[str, tuple[float, float, tuple[str, str, frozenset[str]]]] = {}
        for rule in accepted:
            provider = tokens.by_name[rule.provider] if tokens else None
            if provider is None:
                raise ValueError(f"tenant {tenant}: no OIDC provider '{rule.provider}'")
            prefix = f"twinbridge:{tenant}:" if rule.scope_prefix is None else rule.scope_prefix
            self.rules[provider.cfg.issuer] = (provider, rule, prefix)

    def principal_of(self, token: str, challenge: str) -> tuple[str, str, frozenset[str]]:
        """(principal id, issuer, tenant scopes) of a token; 401 if it is not valid here.
        A token verified before is taken from memory while its time is valid: a client
        sends the same token for many requests, and reading one costs ~0.3 ms."""
        known = self._verified.get(token)
        if known is not None:
            valid_from, valid_until, answer = known
            if valid_from <= time.time() < valid_until:
                return answer
            del self._verified[token]
        answer, valid_from, valid_until = self._verify(token, challenge)
        if len(self._verified) >= VERIFIED_KEPT:
            self._verified.clear()
        self._verified[token] = (valid_from, valid_until, answer)
        return answer

    def _verify(
        self, token: str, challenge: str
    ) -> tuple[tuple[str, str, frozenset[str]], float, float]:
        try:
            header = jwt.get_unverified_header(token)
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise invalid(challenge, "the token cannot be read") from None
        found = self.rules.get(issuer) if isinstance(issuer, str) else None
        if found is None:
            raise invalid(challenge, "the token's issuer is not accepted here")
        provider, rule, prefix = found
        claims = provider.verify(token, header, challenge)
        scopes: set[str] = set()
        for value in provider.claim_values(claims):
            scopes.update(rule.scope_map.get(value, ()))
            if value.startswith(prefix) and re.match(SCOPE, value[len(prefix) :]):
                scopes.add(value[len(prefix) :])
        answer = (f"oidc:{subject(claims['sub'])}", provider.cfg.issuer, frozenset(scopes))
        leeway = provider.cfg.leeway
        valid_from = _number(claims.get("nbf"), -float("inf")) - leeway
        return answer, valid_from, _number(claims["exp"], 0) + leeway


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default


def token_client(token: str) -> bytes:
    """The application a token was issued to (`azp`, `client_id`, else `sub`, with the
    issuer), for counting clients: a new token of the same application is the same client.
    Unverified: usage figures only, never a decision."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return token.encode()
    client = claims.get("azp") or claims.get("client_id") or claims.get("sub")
    return f"{claims.get('iss')}\0{client}".encode("utf-8", "replace")


def _shown(value: Any) -> str:
    """A header value from a token, echoed only when it is a plain short name (it goes
    into WWW-Authenticate)."""
    text = str(value)
    return text if text.isalnum() and len(text) <= 16 else "?"


def subject(sub: Any) -> str:
    """The `sub` as it appears in logs: itself when it is a plain identifier, else a hash
    (a log line must not take whatever a provider puts there)."""
    text = str(sub)
    if _SUBJECT.fullmatch(text):
        return text
    return "#" + hashlib.sha256(text.encode()).hexdigest()[:16]
