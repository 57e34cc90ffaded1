"""Fixtures of the SensorThings tests: gateways with embedded STA stores in unique temporary
files (xdist-safe), the API key in a uniquely named environment variable, and the fixture
data of OGC's test suite (levels 1-3)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import LoadedConfig, parse_config
from tests.conftest import missing_service

KEY = "s3cret-key"
STA = "/t/sta/v1.1"


PG_DSN = os.environ.get("TWINBRIDGE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
_schemas: list[str] = []


def postgres_available() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return False
    return True


def store_block(folder: Path, name: str, kind: str) -> dict[str, Any]:
    if kind == "sqlite":
        return {"path": str(folder / f"{name}.sqlite")}
    schema = f"sta_test_{uuid.uuid4().hex[:12]}"
    _schemas.append(schema)
    return {"kind": "postgres", "dsn": PG_DSN, "schema": schema}


def sta_config(
    folder: Path,
    tenants: dict[str, dict[str, Any]] | None = None,
    server: dict | None = None,
    kind: str = "sqlite",
) -> tuple[LoadedConfig, str]:
    """A configuration whose tenants (default: one, 't') each have an embedded store;
    returns it with the name of the environment variable holding the API key."""
    env = f"TB_TEST_KEY_{uuid.uuid4().hex[:12]}"
    os.environ[env] = KEY
    tenants = tenants or {"t": {}}
    data: dict[str, Any] = {"server": server or {}, "tenants": {}}
    for name, extra in tenants.items():
        sta = {"store": store_block(folder, name, kind), "api_key_env": env, **extra}
        data["tenants"][name] = {"sensorthings": sta}
    return parse_config(data, "test", folder), env


def sta_config_file(
    folder: Path, kind: str = "sqlite", server: dict | None = None
) -> tuple[Path, dict[str, str]]:
    """A configuration file with one tenant 't' for `twinbridge serve --config`, and the
    environment that holds its API key."""
    env = f"TB_TEST_KEY_{uuid.uuid4().hex[:12]}"
    sta = {"store": store_block(folder, "t", kind), "api_key_env": env}
    data = {"server": server or {}, "tenants": {"t": {"sensorthings": sta}}}
    path = folder / f"twinbridge-{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    return path, {env: KEY}


@pytest.fixture(scope="session", autouse=True)
def _drop_test_schemas() -> Iterator[None]:
    yield
    if not _schemas:
        return
    import asyncio

    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            for schema in _schemas:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not postgres_available():
        missing_service("PostgreSQL is not listening on 127.0.0.1:5432")
    return request.param


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(
        tenants: dict[str, dict[str, Any]] | None = None,
        server: dict | None = None,
        kind: str = "sqlite",
    ) -> TestClient:
        loaded, _ = sta_config(tmp_path / uuid.uuid4().hex[:8], tenants, server, kind)
        client = TestClient(create_app(loaded))
        client.loaded = loaded  # type: ignore[attr-defined]
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient], store_kind: str) -> TestClient:
    return make_client(kind=store_kind)


AUTH = {"X-API-Key": KEY}
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def location(n: int) -> dict[str, Any]:
    return {
        "name": f"location {n}",
        "description": f"location {n} of the test suite",
        "encodingType": "application/vnd.geo+json",
        "location": {"type": "Point", "coordinates": [-117.05 + n, 51.05 + n]},
    }


def datastream(n: int, observed_property: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"datastream {n}",
        "description": f"datastream {n} of the test suite",
        "unitOfMeasurement": {
            "name": "Lumen",
            "symbol": "lm",
            "definition": "http://www.qudt.org/qudt/owl/1.0.0/unit/Instances.html/Lumen",
        },
        "observationType": MEASUREMENT,
        "Sensor": {
            "name": f"sensor {n}",
            "description": f"sensor {n} of the test suite",
            "encodingType": "application/pdf",
            "metadata": "Light flux sensor",
        },
        "ObservedProperty": observed_property,
    }


def observed_property(n: int) -> dict[str, Any]:
    return {
        "name": f"ObservedProperty {n}",
        "definition": f"http://example.org/observed-property-{n}",
        "description": f"observed property {n}",
    }


def location_id(response: Any) -> int:
    header = response.headers["location"]
    return int(header[header.index("(") + 1 : header.index(")")])


def populate_ets(client: TestClient, root: str = STA) -> dict[str, list[int]]:
    """OGC's level-3 fixture: 2 Things (each with a Location and 2 Datastreams; the second
    reuses an ObservedProperty), Locations swapped by PATCH (4 HistoricalLocations), 12
    Observations with results 1..12 on 2015-03-01..12, FeaturesOfInterest made from the
    Locations (2)."""
    things = []
    op1 = observed_property(1)
    r = client.post(
        f"{root}/Things",
        json={
            "name": "thing 1",
            "description": "thing 1 of the test suite",
            "properties": {"reference": "first"},
            "Locations": [location(1)],
            "Datastreams": [datastream(1, op1), datastream(2, observed_property(2))],
        },
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    things.append(location_id(r))
    op_id = client.get(
        f"{root}/Datastreams?$filter=name eq 'datastream 1'&$expand=ObservedProperty"
    ).json()["value"][0]["ObservedProperty"]["@iot.id"]
    r = client.post(
        f"{root}/Things",
        json={
            "name": "thing 2",
            "description": "thing 2 of the test suite",
            "properties": {"reference": "second"},
            "Locations": [location(2)],
            "Datastreams": [datastream(3, observed_property(3)), datastream(4, {"@iot.id": op_id})],
        },
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    things.append(location_id(r))
    locations = [
        client.get(f"{root}/Things({t})/Locations").json()["value"][0]["@iot.id"] for t in things
    ]
    for thing, loc in zip(things, reversed(locations), strict=True):
        r = client.patch(
            f"{root}/Things({thing})", json={"Locations": [{"@iot.id": loc}]}, headers=AUTH
        )
        assert r.status_code == 200, r.text
    datastreams = [
        d["@iot.id"] for d in client.get(f"{root}/Datastreams?$orderby=id").json()["value"]
    ]
    observations = []
    for i in range(12):
        body = {
            "phenomenonTime": f"2015-03-{i + 1:02d}T00:00:00.000Z",
            "result": i + 1,
            "Datastream": {"@iot.id": datastreams[i // 3]},
        }
        r = client.post(f"{root}/Observations", json=body, headers=AUTH)
        assert r.status_code == 201, r.text
        observations.append(location_id(r))
    return {
        "things": things,
        "locations": locations,
        "datastreams": datastreams,
        "observations": observations,
    }


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ets(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, list[int]]]]:
    """A read-only gateway with the level-3 fixture (shared by a module's tests), once on
    each kind of store."""
    if request.param == "postgres" and not postgres_available():
        missing_service("PostgreSQL is not listening on 127.0.0.1:5432")
    loaded, env = sta_config(tmp_path_factory.mktemp("ets"), kind=request.param)
    with TestClient(create_app(loaded)) as client:
        yield client, populate_ets(client)
    os.environ.pop(env, None)
