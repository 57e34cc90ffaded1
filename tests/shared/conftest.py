"""The real Redis at 127.0.0.1:6379, a key prefix of its own per test (cleaned up after),
and gateways over two small GeoJSON tenants that share it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from gateway import catalog
from gateway.app import create_app
from gateway.config import load_config
from tests.conftest import free_port, missing_service
from tests.httpcache.files import write_config
from tests.shared.proxy import TcpProxy

REDIS_URL = os.environ.get("TWINBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A prefix no other test (or engineer) uses; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as e:
        missing_service(f"Redis at {REDIS_URL} is not reachable: {e}")
    prefix = f"tbtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    yield client
    client.close()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    host, port = REDIS_URL.split("//")[1].split("/")[0].rsplit(":", 1)
    p = TcpProxy((host, int(port)), free_port())
    p.start()
    yield p
    p.kill()


def shared(url: str, prefix: str, **extra: Any) -> dict[str, Any]:
    return {"redis_url": url, "key_prefix": prefix, **extra}


def instance(config: Path) -> TestClient:
    """One gateway instance; several made from one config file share its data files (so
    their sources have the same versions, as instances behind one balancer would)."""
    return TestClient(create_app(load_config(config)))


@pytest.fixture
def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Writes the two-tenant config with these server settings; returns its path."""
    monkeypatch.setattr(catalog, "RELOAD_CHECK_SECONDS", 0.0)

    def write(server: dict[str, Any], **tenants: dict[str, Any]) -> Path:
        return write_config(tmp_path, server, **tenants)

    return write


def closed_port_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"
