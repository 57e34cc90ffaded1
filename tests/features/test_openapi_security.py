"""The OpenAPI documents declare the credentials a tenant takes: `components.securitySchemes`
from its access block (API keys, OIDC providers: `openIdConnect` where the operator gave a
discovery URL, HTTP bearer JWT otherwise), `security` on the write operations, and on every
operation of a closed tenant; public reads and gateways without access carry none."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from tests.access.tokens import AUDIENCE, ISSUER, Signer, jwks
from tests.features.test_write_geopackage import gpkg_source, make_file
from tests.features.write_fixtures import MAPPING, READER, access

STATE_ISSUER = "https://login.example.org/realms/state"
DISCOVERY = f"{ISSUER}/.well-known/openid-configuration"
METHODS = ("get", "head", "post", "put", "patch", "delete")
KEY = [{"apiKey": []}]


def _collection(folder: Path, writable: bool) -> dict[str, Any]:
    source = {**gpkg_source(make_file(folder)), "writable": writable}
    return {"profile": "street-trees", "source": source, "mapping": MAPPING}


def _config(folder: Path) -> dict[str, Any]:
    (folder / "jwks.json").write_text(jwks(Signer()))
    providers = {
        "city": {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_file": "jwks.json",
            "discovery_url": DISCOVERY,
        },
        "state": {"issuer": STATE_ISSUER, "audience": AUDIENCE, "jwks_file": "jwks.json"},
    }
    folders = {name: folder / name for name in ("gp", "closed", "plain")}
    for f in folders.values():
        f.mkdir()
    return {
        "server": {"access": {"oidc": providers}},
        "tenants": {
            "gp": {  # public reading; keys and both providers; a writable collection
                "access": {**access(), "oidc": [{"provider": "city"}, {"provider": "state"}]},
                "collections": {"baeume": _collection(folders["gp"], True)},
            },
            "closed": {  # closed reading, keys only, read-only
                "access": {**access(), "public_read": False},
                "collections": {"baeume": _collection(folders["closed"], False)},
            },
            "plain": {"collections": {"baeume": _collection(folders["plain"], True)}},
        },
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("openapi-security")
    with TestClient(create_app(parse_config(_config(folder), "api.yaml", folder))) as c:
        yield c


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def api(client: TestClient, root: str, **headers: str) -> dict[str, Any]:
    r = client.get(f"{root}/api", headers=headers)
    assert r.status_code == 200, r.text
    doc = r.json()
    validate(doc)
    return doc


def test_a_public_tenant_declares_its_schemes_and_secures_only_its_writes(
    client: TestClient,
) -> None:
    doc = api(client, "/gp")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header"}
    assert schemes["apiKey"]["name"] == "X-API-Key"  # what gateway.access reads
    assert schemes["oidc-city"]["type"] == "openIdConnect"
    assert schemes["oidc-city"]["openIdConnectUrl"] == DISCOVERY
    assert {k: schemes["bearer"][k] for k in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert STATE_ISSUER in schemes["bearer"]["description"]
    assert ISSUER not in schemes["bearer"]["description"]  # it has its own scheme
    requirement = [{"apiKey": []}, {"oidc-city": []}, {"bearer": []}]
    secured = {(p, m): op.get("security") for p, m, op in operations(doc)}
    one = "/collections/baeume/items/{featureId}"
    for method in ("put", "patch", "delete"):
        assert secured[(one, method)] == requirement
    # a search needs nothing, a create a credential: the requirement is optional
    assert secured[("/collections/baeume/items", "post")] == [{}, *requirement]
    reads = {key: s for key, s in secured.items() if key[1] in ("get", "head")}
    assert len(reads) >= 20 and set(reads.values()) == {None}


def test_a_closed_tenant_secures_every_operation(client: TestClient) -> None:
    assert client.get("/closed/api").status_code == 401
    doc = api(client, "/closed", **{"X-API-Key": READER})
    assert list(doc["components"]["securitySchemes"]) == ["apiKey"]
    found = list(operations(doc))
    assert len(found) >= 20
    for path, method, op in found:
        assert op["security"] == KEY, (path, method)
        assert {"401", "403"} <= set(op["responses"]), (path, method)
    assert "put" not in doc["paths"]["/collections/baeume/items/{featureId}"]  # read-only


def test_without_access_a_tenant_and_the_federated_root_declare_no_security(
    client: TestClient,
) -> None:
    for root in ("/plain", ""):
        doc = api(client, root)
        assert "securitySchemes" not in doc["components"], root
        assert not [op for _, _, op in operations(doc) if "security" in op], root
    # its writes are listed (its source writes) but no credential can make them
    plain = api(client, "/plain")["paths"]["/collections/baeume/items/{featureId}"]
    assert "401" in plain["put"]["responses"]


def test_a_gateway_without_any_access_config_has_no_security(tmp_path: Path) -> None:
    config = {"tenants": {"plain": {"collections": {"baeume": _collection(tmp_path, True)}}}}
    with TestClient(create_app(parse_config(config, "plain.yaml", tmp_path))) as client:
        for root in ("/plain", ""):
            doc = api(client, root)
            assert "securitySchemes" not in doc["components"]
            assert "security" not in str(doc).replace("Security", "")


def test_keys_are_never_in_the_document(client: TestClient) -> None:
    text = client.get("/gp/api").text
    for key in access()["api_keys"]:
        assert key["sha256"] not in text
    assert hashlib.sha256(READER.encode()).hexdigest() not in text


def test_the_html_api_page_names_the_credentials_and_who_needs_them(client: TestClient) -> None:
    page = client.get("/gp/api.html").text
    credentials = page[page.index("<h2>Credentials</h2>") : page.index("<h2>Operations</h2>")]
    assert "API key in the header <code>X-API-Key</code>" in credentials
    assert f"OpenID Connect, discovery at <code>{DISCOVERY}</code>" in credentials
    assert "HTTP bearer (JWT)" in credentials
    marks = page.count('<p class="credential">')
    assert marks == 4  # PUT, PATCH, DELETE and the optional one of POST on items
    assert "<h2>Credentials</h2>" not in client.get("/plain/api.html").text
