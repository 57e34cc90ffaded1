"""The hostile-input corpus over an upstream SensorThings server: a real `twinbridge serve`
(its own SQLite store with OGC's level-3 fixture) proxied by tenant `hxup` and on the
federated root. The origin's own sources must stay as well as ours."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.app import create_app
from gateway.config import parse_config
from tests.conftest import start_gateway
from tests.hostile.checks import scraped
from tests.hostile.corpus import Case
from tests.hostile.targets import UPSTREAM, Target, corpus, params, target
from tests.sensorthings.conftest import KEY, populate_ets

pytestmark = pytest.mark.integration
CASES = corpus(UPSTREAM)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real TwinBridge with the level-3 fixture; yields its SensorThings root."""
    folder = tmp_path_factory.mktemp("hostile-origin")
    env = f"TB_HOSTILE_ORIGIN_{uuid.uuid4().hex[:8]}"
    sta = {"store": {"path": str(folder / "o.sqlite")}, "api_key_env": env}
    (folder / "config.yaml").write_text(yaml.safe_dump({"tenants": {"o": {"sensorthings": sta}}}))
    proc, url = start_gateway({env: KEY}, "--config", str(folder / "config.yaml"))
    try:
        with httpx.Client(base_url=url) as client:
            populate_ets(client, "/o/sta/v1.1")  # type: ignore[arg-type]
            before = client.get("/metrics").text
        yield f"{url}/o/sta/v1.1"
        with httpx.Client(base_url=url) as client:
            assert client.get("/ready").json()["status"] == "ready"
            assert scraped(client.get("/metrics").text) == scraped(before)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def up(origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    upstream = {"url": origin, "retries": 0}
    data = {"tenants": {"hxup": {"sensorthings": {"upstream": upstream}}}}
    folder = Path(tmp_path_factory.mktemp("hostile-up"))
    loaded = parse_config(data, "hostile.yaml", folder)
    origin_host = origin.split("/")[2]
    with target("upstream", create_app(loaded), secrets=(origin_host,)) as found:
        yield found


@pytest.mark.parametrize("case", params(CASES))
def test_upstream(up: Target, case: Case) -> None:
    up.run(case)
