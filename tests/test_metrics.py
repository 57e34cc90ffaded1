"""/metrics: requests by route template and status, backend calls by source and outcome,
summed over every worker."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.conftest import start_gateway
from tests.test_federation import config, write_trees

ITEMS = "/{tenant}/collections/{cid}/items"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series (0 when it does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_requests_are_counted_by_route_template_and_status(demo_client: TestClient) -> None:
    before = demo_client.get("/metrics").text
    demo_client.get("/hamburg/collections/strassenbaeume/items?limit=1")
    demo_client.get("/leipzig/collections/baumkataster/items?limit=1")
    demo_client.get("/hamburg/collections/strassenbaeume/items?limit=x")
    demo_client.get("/hamburg/collections/no%20such%20thing/items")
    response = demo_client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = response.text

    def delta(status: str) -> float:
        labels = {"route": ITEMS, "method": "GET", "status": status}
        name = "twinbridge_requests_total"
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert (delta("200"), delta("400"), delta("404")) == (2, 1, 1)
    assert "no such thing" not in after  # paths never become labels


def test_backend_calls_are_counted_by_source_and_outcome(tmp_path: Path) -> None:
    write_trees(tmp_path / "a.geojson", 3)
    app = create_app(config(tmp_path, {"a": "a.geojson", "b": "missing.geojson"}))
    with TestClient(app) as client:
        before = client.get("/metrics").text
        assert client.get("/collections/street-trees/items").status_code == 200
        after = client.get("/metrics").text
    name = "twinbridge_source_calls_total"
    for source, outcome in (("a/trees", "ok"), ("b/trees", "failed")):
        grown = sample(after, name, source=source, outcome=outcome) - sample(
            before, name, source=source, outcome=outcome
        )
        assert grown >= 1, (source, outcome)


@pytest.mark.integration
def test_every_worker_is_counted(demo_dir: Path) -> None:
    proc, url = start_gateway({"TWINBRIDGE_DEMO_DIR": str(demo_dir)}, "--workers", "2")
    try:
        # A new connection per request, so both workers answer some of them.
        for _ in range(40):
            response = httpx.get(f"{url}/muenchen/collections/baeume/items?limit=1", timeout=30)
            assert response.status_code == 200
        scrapes = [httpx.get(f"{url}/metrics", timeout=30).text for _ in range(6)]
        totals = {
            sample(t, "twinbridge_requests_total", route=ITEMS, status="200") for t in scrapes
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert totals == {40}
