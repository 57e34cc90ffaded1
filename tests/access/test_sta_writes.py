"""SensorThings writes: the `api_key_env` key as always, and the tenant's `access` keys
and tokens with `write:sensorthings`; 401/403 in the STA error shape; an audit line each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.access.gateway_config import ENV_KEY, READER, STA_WRITER, _hash, access_config
from tests.access.tokens import ISSUER, Signer

THINGS = "/closed/sta/v1.1/Things"
THING = {"name": "weather station", "description": "roof"}


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("k1")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, signer: Signer) -> Iterator[TestClient]:
    loaded, env = access_config(tmp_path_factory.mktemp("sta"), signer)
    with TestClient(create_app(loaded)) as c:
        c.env = env  # type: ignore[attr-defined]
        yield c


def _audit_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "twinbridge.audit"]


def test_the_environment_key_writes_as_before(
    gateway: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="twinbridge.audit"):
        r = gateway.post(THINGS, json=THING, headers={"X-API-Key": ENV_KEY})
    assert r.status_code == 201, r.text
    (line,) = _audit_lines(caplog)
    assert f"principal=key:{gateway.env}" in line  # type: ignore[attr-defined]
    assert "action=create" in line and "source=closed/sta" in line and "result=201" in line
    assert ENV_KEY not in line


def test_an_access_key_with_write_sensorthings_writes(
    gateway: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="twinbridge.audit"):
        r = gateway.post(THINGS, json=THING, headers={"X-API-Key": STA_WRITER})
        assert r.status_code == 201, r.text
        deleted = gateway.delete(r.headers["location"], headers={"X-API-Key": STA_WRITER})
        assert deleted.status_code == 200
    assert [line.split()[2] for line in _audit_lines(caplog)] == [
        "action=create",
        "action=delete",
    ]
    assert all("principal=key:sensor-app" in line for line in _audit_lines(caplog))


def test_a_token_with_write_sensorthings_writes_and_is_audited_by_subject_and_issuer(
    gateway: TestClient, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    token = signer.token(scope="twinbridge:closed:write:sensorthings", sub="jane")
    with caplog.at_level("INFO", logger="twinbridge.audit"):
        r = gateway.post(THINGS, json=THING, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    (line,) = _audit_lines(caplog)
    assert "principal=oidc:jane" in line and f"issuer={ISSUER}" in line
    assert token not in line


def test_without_a_credential_a_write_is_401_in_the_sta_shape(gateway: TestClient) -> None:
    r = gateway.post(THINGS, json=THING)
    assert r.status_code == 401
    assert r.json()["type"] == "error" and "write:sensorthings" in r.json()["message"]
    assert r.headers["www-authenticate"] == 'Bearer realm="twinbridge/closed"'


def test_a_reading_credential_is_403_naming_the_write_scope(
    gateway: TestClient, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="twinbridge.audit"):
        r = gateway.post(THINGS, json=THING, headers={"X-API-Key": READER})
    assert r.status_code == 403 and r.json()["code"] == 403
    assert "write:sensorthings" in r.json()["message"]
    assert _audit_lines(caplog) == []  # refused before the write: nothing was attempted
    token = signer.token(scope="twinbridge:closed:read")
    r = gateway.post(THINGS, json=THING, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


def test_a_failed_write_is_audited_with_its_outcome(
    gateway: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="twinbridge.audit"):
        r = gateway.patch(f"{THINGS}(999999)", json={"name": "x"}, headers={"X-API-Key": ENV_KEY})
    assert r.status_code == 404
    (line,) = _audit_lines(caplog)
    assert "action=update" in line and "result=404" in line


def test_the_federated_sta_leaves_a_closed_tenant_out(gateway: TestClient) -> None:
    assert gateway.post(THINGS, json=THING, headers={"X-API-Key": ENV_KEY}).status_code == 201
    names = [t["name"] for t in gateway.get("/sta/v1.1/Things").json()["value"]]
    assert "weather station" not in names
    assert gateway.get(THINGS, headers={"X-API-Key": READER}).json()["value"]


def test_access_keys_alone_make_a_tenant_writable(tmp_path: Path, signer: Signer) -> None:
    """No `api_key_env`: before, read-only; a writer in `access` now makes it writable."""
    writer = {"id": "app", "sha256": _hash("k-1"), "scopes": ["write"]}
    loaded, _ = access_config(tmp_path, signer, {"api_keys": [writer]})
    loaded.config.tenants["closed"].sensorthings.api_key_env = None  # type: ignore[union-attr]
    with TestClient(create_app(loaded)) as c:
        classes = c.get("/closed/sta/v1.1").json()["serverSettings"]["conformance"]
        assert any("create-update-delete" in cls for cls in classes)
        assert c.post(THINGS, json=THING, headers={"X-API-Key": "k-1"}).status_code == 201
        assert c.post(THINGS, json=THING).status_code == 401
        assert c.post("/open/sta/v1.1/Things", json=THING).status_code == 403  # read-only
