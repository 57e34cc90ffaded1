"""OIDC bearer tokens against keys the operator configured: real RSA/EC signatures, and
the attacks on JWT verification (alg none, HS256 with the public key, a foreign key)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.access import Access, TenantAccess
from gateway.access.config import OidcProvider
from gateway.access.oidc import Tokens
from gateway.config import parse_config
from gateway.errors import ConfigError, Forbidden, Unauthorized
from tests.access.tokens import AUDIENCE, ISSUER, Signer, claims, forged, jwks


@pytest.fixture(scope="module")
def rsa_signer() -> Signer:
    return Signer("k1", "rsa")


@pytest.fixture(scope="module")
def ec_signer() -> Signer:
    return Signer("k2", "ec")


def _access(
    folder: Path, *signers: Signer, tenant_rule: dict[str, Any] | None = None, **provider: Any
) -> Access:
    (folder / "jwks.json").write_text(jwks(*signers))
    cfg = OidcProvider.model_validate(
        {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "jwks.json", **provider}
    )
    tokens = Tokens({"city": cfg}, folder)
    asyncio.run(tokens.open())
    rule = {"provider": "city", **(tenant_rule or {})}
    return Access("hamburg", TenantAccess.model_validate({"oidc": [rule]}), tokens)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _refused(access: Access, token: str, reason: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        access.decide(_bearer(token), "street-trees", "write")
    assert reason in caught.value.description
    challenge = caught.value.headers()["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="twinbridge/hamburg", error="invalid_token"')
    assert token not in caught.value.description + challenge


def test_a_valid_rsa_token_writes_where_its_scope_says(tmp_path: Path, rsa_signer: Signer) -> None:
    access = _access(tmp_path, rsa_signer)
    principal = access.decide(_bearer(rsa_signer.token()), "street-trees", "write")
    assert principal.id == "oidc:u-123"
    assert principal.issuer == ISSUER
    assert principal.scopes == {"write:street-trees"}  # `openid` and others are not ours


def test_a_valid_ec_token_is_accepted(
    tmp_path: Path, rsa_signer: Signer, ec_signer: Signer
) -> None:
    access = _access(tmp_path, rsa_signer, ec_signer)
    assert access.decide(_bearer(ec_signer.token()), "street-trees", "write").id == "oidc:u-123"


def test_a_missing_scope_is_403_naming_it(tmp_path: Path, rsa_signer: Signer) -> None:
    access = _access(tmp_path, rsa_signer)
    with pytest.raises(Forbidden, match="write:land-use-plans"):
        access.decide(_bearer(rsa_signer.token()), "land-use-plans", "write")


def test_another_tenants_scope_grants_nothing_here(tmp_path: Path, rsa_signer: Signer) -> None:
    token = rsa_signer.token(scope="twinbridge:leipzig:write")
    with pytest.raises(Forbidden, match="write:street-trees"):
        _access(tmp_path, rsa_signer).decide(_bearer(token), "street-trees", "write")


def test_keycloak_roles_map_to_tenant_scopes(tmp_path: Path, rsa_signer: Signer) -> None:
    access = _access(
        tmp_path,
        rsa_signer,
        tenant_rule={"scope_map": {"tree-editors": ["write:street-trees"]}},
        scope_claim="realm_access.roles",
    )
    token = rsa_signer.token(scope=None, realm_access={"roles": ["offline", "tree-editors"]})
    assert access.decide(_bearer(token), "street-trees", "write").scopes == {"write:street-trees"}
    other = rsa_signer.token(scope=None, realm_access={"roles": ["tree-viewers"]})
    with pytest.raises(Forbidden):
        access.decide(_bearer(other), "street-trees", "write")


def test_an_scp_list_with_an_empty_prefix_is_taken_as_is(
    tmp_path: Path, rsa_signer: Signer
) -> None:
    access = _access(tmp_path, rsa_signer, tenant_rule={"scope_prefix": ""}, scope_claim="scp")
    token = rsa_signer.token(scope=None, scp=["write", "admin", "read:x y"])
    assert access.decide(_bearer(token), "any", "write").scopes == {"write"}


def test_an_expired_token_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    past = int(time.time()) - 3600
    _refused(_access(tmp_path, rsa_signer), rsa_signer.token(exp=past, iat=past - 60), "expired")


def test_a_token_not_yet_valid_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    later = int(time.time()) + 600
    _refused(_access(tmp_path, rsa_signer), rsa_signer.token(nbf=later), "not valid yet")


def test_clock_skew_within_the_leeway_is_tolerated(tmp_path: Path, rsa_signer: Signer) -> None:
    access = _access(tmp_path, rsa_signer, leeway=30)
    now = int(time.time())
    late = rsa_signer.token(exp=now - 10, nbf=now + 10, iat=now + 10)
    assert access.decide(_bearer(late), "street-trees", "write").id == "oidc:u-123"
    _refused(access, rsa_signer.token(exp=now - 60), "expired")


def test_a_wrong_issuer_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    token = rsa_signer.token(iss="https://evil.example.org/realms/city")
    _refused(_access(tmp_path, rsa_signer), token, "issuer")


def test_a_wrong_audience_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    _refused(_access(tmp_path, rsa_signer), rsa_signer.token(aud="other-app"), "audience")


def test_a_token_signed_by_another_key_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    impostor = Signer("k1", "rsa")  # same kid, different key
    _refused(_access(tmp_path, rsa_signer), impostor.token(), "signature")


def test_an_unknown_kid_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    _refused(_access(tmp_path, rsa_signer), Signer("k9").token(), "kid")


def test_alg_none_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    token = forged({"alg": "none", "typ": "JWT", "kid": "k1"}, claims(), None)
    _refused(_access(tmp_path, rsa_signer), token, "'none' is not accepted")


def test_hs256_with_the_public_key_as_secret_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    token = forged({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(), rsa_signer.public_pem())
    _refused(_access(tmp_path, rsa_signer), token, "'HS256' is not accepted")


def test_an_algorithm_the_key_does_not_sign_with_is_refused(
    tmp_path: Path, rsa_signer: Signer
) -> None:
    """ES256 is allowed, but the key with this kid is an RSA key pinned to RS256."""
    header = {"alg": "ES256", "typ": "JWT", "kid": "k1"}
    _refused(_access(tmp_path, rsa_signer), forged(header, claims(), b"x"), "does not sign")


def test_a_token_without_exp_is_refused(tmp_path: Path, rsa_signer: Signer) -> None:
    _refused(_access(tmp_path, rsa_signer), rsa_signer.token(exp=None), "claim")


def test_a_token_from_an_issuer_the_tenant_does_not_accept(rsa_signer: Signer) -> None:
    access = Access("hamburg", TenantAccess())
    with pytest.raises(Unauthorized, match="accepts no tokens"):
        access.decide(_bearer(rsa_signer.token()), "street-trees", "write")


def test_an_odd_subject_is_hashed_in_the_principal(tmp_path: Path, rsa_signer: Signer) -> None:
    token = rsa_signer.token(sub="jane doe\nprincipal=admin")
    principal = _access(tmp_path, rsa_signer).decide(_bearer(token), "street-trees", "write")
    assert principal.id.startswith("oidc:#") and "\n" not in principal.id


@pytest.mark.parametrize(
    "change",
    [
        {"algorithms": ["HS256"]},
        {"algorithms": ["none"]},
        {"jwks_url": "https://login.example.org/certs"},  # and jwks_file
        {"jwks_file": None},  # neither
        {"scope_claim": "a..b"},
    ],
)
def test_a_provider_that_could_be_tricked_is_refused_at_start_up(change: dict[str, Any]) -> None:
    base = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "jwks.json"}
    with pytest.raises(ValidationError):
        OidcProvider.model_validate({**base, **change})


def test_a_tenant_naming_an_unknown_provider_is_a_config_error(tmp_path: Path) -> None:
    data = {"tenants": {"hamburg": {"access": {"oidc": [{"provider": "keycloak"}]}}}}
    with pytest.raises(ConfigError, match="keycloak"):
        parse_config(data, "test", tmp_path)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": 'RS256"\r\nX-Evil: 1', "kid": "k1"},
        {"alg": ["RS256"], "kid": "k1"},
        {"alg": "RS256", "kid": ["k1"]},
        {"alg": "RS256", "kid": {"a": 1}},
    ],
)
def test_a_hostile_token_header_is_a_clean_401(
    tmp_path: Path, rsa_signer: Signer, header: dict[str, Any]
) -> None:
    token = forged(header, claims(), b"x")
    with pytest.raises(Unauthorized) as caught:
        _access(tmp_path, rsa_signer).decide(_bearer(token), "street-trees", "write")
    challenge = caught.value.headers()["WWW-Authenticate"]
    assert "\n" not in challenge and "Evil" not in challenge


@pytest.mark.parametrize("token", ["eyJhbGciOi.eyJzdWIi.c2ln", "eyJ9.e30.", "eyJ.x.y"])
def test_a_token_that_is_not_json_is_a_clean_401(
    tmp_path: Path, rsa_signer: Signer, token: str
) -> None:
    with pytest.raises(Unauthorized):
        _access(tmp_path, rsa_signer).decide(_bearer(token), "street-trees", "write")
    asyncio.run(Tokens({}, tmp_path).prepare(token))  # and nothing to prepare either


def test_usage_counts_a_tokens_application_not_each_token(rsa_signer: Signer) -> None:
    from gateway.usage.clients import ClientIdentity

    identity = ClientIdentity(b"secret")

    def client_of(token: str) -> str | None:
        return identity.identify(
            {"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]}
        )

    first = client_of(rsa_signer.token(azp="tree-app", iat=1))
    assert first == client_of(rsa_signer.token(azp="tree-app", iat=2, sub="other"))
    assert first != client_of(rsa_signer.token(azp="map-app"))


def test_two_providers_with_one_issuer_or_a_provider_named_twice_are_refused() -> None:
    from gateway.access.config import ServerAccess

    provider = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "jwks.json"}
    with pytest.raises(ValidationError, match="share the issuer"):
        ServerAccess.model_validate({"oidc": {"a": provider, "b": provider}})
    with pytest.raises(ValidationError, match="once"):
        TenantAccess.model_validate({"oidc": [{"provider": "a"}, {"provider": "a"}]})


def test_a_token_kept_in_memory_still_expires(tmp_path: Path, rsa_signer: Signer) -> None:
    access = _access(tmp_path, rsa_signer, leeway=0)
    expires = int(time.time()) + 1
    token = rsa_signer.token(exp=expires)
    for _ in range(2):  # the second answer comes from memory
        assert access.decide(_bearer(token), "street-trees", "write").id == "oidc:u-123"
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    _refused(access, token, "expired")
