"""The SensorThings API definitions declare the credentials their tenant takes, as the
Features ones do: the tenant's schemes (API keys, OIDC providers) beside the environment
key's `apiKey`, any of them on the writes, and on every read of a closed tenant; a tenant
without an access block keeps the environment key's scheme on its writes only, and the
federated root (read-only) declares none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.access.gateway_config import ENV_KEY, READER, access_config
from tests.access.tokens import Signer

METHODS = ("get", "head", "post", "put", "patch", "delete")
WRITES = ("post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    loaded, _ = access_config(tmp_path_factory.mktemp("sta-openapi"), Signer())
    with TestClient(create_app(loaded)) as c:
        yield c


def api(client: TestClient, root: str, **headers: str) -> dict[str, Any]:
    r = client.get(f"{root}/sta/v1.1/api", headers=headers)
    assert r.status_code == 200, r.text
    doc = r.json()
    validate(doc)
    return doc


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_a_closed_tenant_takes_its_keys_tokens_and_the_environment_key_everywhere(
    client: TestClient,
) -> None:
    doc = api(client, "/closed", **{"X-API-Key": READER})
    schemes = doc["components"]["securitySchemes"]
    assert set(schemes) == {"apiKey", "bearer"}
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["bearer"]["bearerFormat"] == "JWT"
    either = [{"apiKey": []}, {"bearer": []}]
    ops = list(operations(doc))
    assert any(m in WRITES for _, m, _ in ops) and any(m == "get" for _, m, _ in ops)
    for path, method, op in ops:
        assert op.get("security") == either, (path, method)
    reads = [op for _, method, op in ops if method == "get"]
    assert all({"401", "403"} <= set(op["responses"]) for op in reads)


def test_a_tenant_without_access_keeps_the_environment_key_on_its_writes_only(
    client: TestClient,
) -> None:
    doc = api(client, "/open")
    assert set(doc["components"].get("securitySchemes", {})) <= {"apiKey"}
    for path, method, op in operations(doc):
        if method in WRITES:
            assert op["security"] == [{"apiKey": []}], (path, method)
        else:
            assert "security" not in op, (path, method)


def test_the_federated_root_declares_no_credential(client: TestClient) -> None:
    doc = api(client, "")
    assert "securitySchemes" not in doc["components"]
    assert all("security" not in op for _, _, op in operations(doc))


def test_no_key_appears_in_the_documents(client: TestClient) -> None:
    for root in ("/closed", "/open", ""):
        text = client.get(f"{root}/sta/v1.1/api", headers={"X-API-Key": READER}).text
        assert ENV_KEY not in text and READER not in text
