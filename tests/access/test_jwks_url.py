"""A provider's keys from its JWKS URL (a loopback server here): fetched at start-up,
again for a rotated key, never more often than `refresh_seconds`, and never from a URL
the token names (`jku`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gateway.access import Access, TenantAccess
from gateway.access.config import OidcProvider
from gateway.access.oidc import Tokens
from gateway.errors import Unauthorized
from tests.access.jwks_server import JwksServer
from tests.access.tokens import AUDIENCE, ISSUER, Signer, jwks


def _setup(server: JwksServer, refresh: float) -> tuple[Tokens, Access]:
    cfg = OidcProvider.model_validate(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_url": f"{server.url}/certs",
            "refresh_seconds": refresh,
        }
    )
    tokens = Tokens({"city": cfg}, Path("."))
    access = Access(
        "hamburg", TenantAccess.model_validate({"oidc": [{"provider": "city"}]}), tokens
    )
    return tokens, access


def _who(access: Access, token: str) -> str:
    return access.decide({"authorization": f"Bearer {token}"}, "street-trees", "write").id


def test_keys_are_fetched_at_start_up_and_again_after_a_rotation(server: JwksServer) -> None:
    old, new = Signer("k1"), Signer("k2", "ec")
    server.documents["/certs"] = jwks(old)
    tokens, access = _setup(server, refresh=1)

    async def scenario() -> None:
        await tokens.open()
        assert server.hits["/certs"] == 1
        assert _who(access, old.token()) == "oidc:u-123"

        server.documents["/certs"] = jwks(old, new)  # the provider rotates
        rotated = new.token()
        await tokens.prepare(rotated)  # too soon after start-up: no fetch
        assert server.hits["/certs"] == 1
        with pytest.raises(Unauthorized, match="kid"):
            _who(access, rotated)

        await asyncio.sleep(1.1)
        await tokens.prepare(rotated)
        assert server.hits["/certs"] == 2
        assert _who(access, rotated) == "oidc:u-123"

        for n in range(5):  # made-up kids cannot make the gateway fetch again
            await tokens.prepare(new.token(headers={"kid": f"made-up-{n}"}))
        await asyncio.gather(*(tokens.prepare(new.token(headers={"kid": "x"})) for _ in range(3)))
        assert server.hits["/certs"] == 2

    asyncio.run(scenario())


def test_a_key_url_in_the_token_is_never_fetched(server: JwksServer) -> None:
    """`jku` names the attacker's own key set: following it would accept any token."""
    server.documents["/certs"] = jwks(Signer("k1"))
    attacker = Signer("evil")
    server.documents["/attacker.json"] = jwks(attacker)
    tokens, access = _setup(server, refresh=1)
    token = attacker.token(headers={"jku": f"{server.url}/attacker.json"})

    async def scenario() -> None:
        await tokens.open()
        await asyncio.sleep(1.1)
        await tokens.prepare(token)

    asyncio.run(scenario())
    with pytest.raises(Unauthorized, match="kid"):
        _who(access, token)
    assert server.hits["/attacker.json"] == 0
    assert server.hits["/certs"] == 2  # the configured URL, once more for the unknown kid


def test_an_unreachable_provider_at_start_up_is_not_fatal(server: JwksServer) -> None:
    """Its tokens are refused until the keys load; other tenants keep serving."""
    signer = Signer("k1")
    tokens, access = _setup(server, refresh=1)  # /certs answers 404 for now

    async def scenario() -> None:
        await tokens.open()
        with pytest.raises(Unauthorized, match="kid"):
            _who(access, signer.token())
        server.documents["/certs"] = jwks(signer)
        await asyncio.sleep(1.1)
        await tokens.prepare(signer.token())
        assert _who(access, signer.token()) == "oidc:u-123"

    asyncio.run(scenario())


def test_a_jwks_that_is_not_one_keeps_the_keys_out(server: JwksServer) -> None:
    server.documents["/certs"] = json.dumps({"keys": "nope"})
    tokens, access = _setup(server, refresh=60)
    asyncio.run(tokens.open())
    with pytest.raises(Unauthorized):
        _who(access, Signer("k1").token())
