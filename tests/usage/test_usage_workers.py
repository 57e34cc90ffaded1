"""`twinbridge serve --workers 2`: the usage KPIs of both workers add up, in /catalog and on
/metrics, whichever worker answers, and distinct clients are counted once across them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_gateway
from tests.test_federation import PROFILE_FIELDS, write_trees
from tests.test_metrics import sample

LABELS = {"tenant": "a", "profile": "street-trees", "api": "features"}


def _config(folder: Path) -> Path:
    write_trees(folder / "a.geojson", 5)
    trees = {
        "profile": "street-trees",
        "source": {"connector": "geojson", "path": "a.geojson"},
        "mapping": {"properties": {f: f for f in PROFILE_FIELDS}},
    }
    data = {
        "server": {
            # no state_path: the workers share a file in the metrics folder serve sets up
            "usage": {"flush_seconds": 0.5},
            "catalog": {"first_delay_seconds": 3600},
        },
        "tenants": {"a": {"collections": {"trees": trees}}},
    }
    path = folder / "twinbridge.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.integration
def test_two_workers_add_up_and_count_each_client_once(tmp_path: Path) -> None:
    proc, url = start_gateway({}, "--workers", "2", "--config", str(_config(tmp_path)))
    try:
        for i in range(40):  # a new connection each: both workers answer some
            headers = {"X-Client": f"app-{i % 10}"}
            r = httpx.get(f"{url}/a/collections/trees/items?limit=2", headers=headers, timeout=30)
            assert r.status_code == 200
        deadline, row = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            rows = httpx.get(f"{url}/catalog", timeout=30).json()["usage"]["rows"]
            row = next((r for r in rows if r["tenant"] == "a"), None)
            if row is not None and row["requests"] == 40:
                break
            time.sleep(0.5)
        assert row is not None
        assert (row["requests"], row["features"], row["clients"]) == (40, 80, 10)
        time.sleep(1.5)  # every worker has flushed since, so each set the gauge
        scrapes = [httpx.get(f"{url}/metrics", timeout=30).text for _ in range(6)]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert {sample(t, "twinbridge_usage_requests_total", **LABELS) for t in scrapes} == {40}
    assert {sample(t, "twinbridge_usage_features_total", **LABELS) for t in scrapes} == {80}
    assert {sample(t, "twinbridge_usage_clients_today", **LABELS) for t in scrapes} == {10}
