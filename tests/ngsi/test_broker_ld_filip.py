"""The NGSI-LD test broker is faithful enough for FIWARE's own client: FiLiP's
ContextBrokerLDClient (PyPI `filip`, run in its own venv as its pins clash with ours)
creates, batch-upserts, queries with q, geo-queries and paging, updates, subscribes and
deletes against it over loopback HTTP, unchanged; the broker's notifications reach a
receiver with the subscription's receiverInfo headers.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.ngsi.ldbroker import ld_broker, serve_app

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FILIP = ROOT / ".venv-filip" / "bin" / "python"


def _receiver(seen: list[dict[str, Any]]) -> Starlette:
    async def notify(request: Request) -> Response:
        seen.append({"headers": dict(request.headers), "body": json.loads(await request.body())})
        return Response(status_code=204)

    return Starlette(routes=[Route("/notify", notify, methods=["POST"])])


@pytest.fixture(scope="module")
def filip_run() -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    subprocess.run(["bash", str(ROOT / "scripts" / "setup-filip.sh")], check=True, timeout=600)
    seen: list[dict[str, Any]] = []
    with ld_broker() as broker, serve_app(_receiver(seen)) as receiver:
        script = Path(__file__).with_name("filip_ld_script.py")
        done = subprocess.run(
            [str(FILIP), str(script), broker.url, f"{receiver}/notify"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        return json.loads(done.stdout.strip().splitlines()[-1]), seen, broker.store


def ids(*numbers: int) -> list[str]:
    return sorted(f"urn:ngsi-ld:AirQualityObserved:aarhus-{n:03d}" for n in numbers)


def test_filip_creates_and_pages_through_everything(filip_run):
    out, _, _ = filip_run
    assert out["all"] == ids(*range(25))
    assert out["limited"] == 10


def test_filip_q_queries_select_as_the_grammar_says(filip_run):
    out, _, _ = filip_run
    assert out["q"] == ids(*range(16, 21))  # NO2 = 5 + n, 20 < NO2 <= 25
    assert out["q_string"] == ids(3)
    assert out["q_or"] == ids(1, 24)  # (NO2 < 7 | NO2 > 28); name ~= "Station"


def test_filip_geo_queries_near_and_within(filip_run):
    out, _, _ = filip_run
    assert out["near"] == ids(0, 8, 9, 10, 11, 12)
    assert out["within"] == ids(*range(1, 4))


def test_filip_updates_appends_and_deletes(filip_run):
    out, _, store = filip_run
    assert out["updated"] == 41.5
    assert out["appended"] == 0.9
    assert out["left"] == 21
    assert "aarhus" in store.tenants


def test_the_broker_notifies_with_receiver_info(filip_run):
    out, seen, _ = filip_run
    assert out["subscription"] in out["subscriptions"]
    assert seen, "no notification arrived"
    first = seen[0]
    assert first["headers"]["x-secret"] == "s3cret"
    assert first["body"]["type"] == "Notification"
    assert first["body"]["subscriptionId"] == out["subscription"]
    data = first["body"]["data"][0]
    assert set(data) == {"id", "type", "NO2"}


def test_filip_sees_the_write_errors_brokers_answer(filip_run):
    out, _, _ = filip_run
    conflict = out["conflict"]
    assert conflict["type"] == "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists"
    assert out["delete_missing"]["type"].endswith("/ResourceNotFound")
    assert out["append_missing"]["type"].endswith("/ResourceNotFound")
    assert out["patch_missing"] is False  # PATCH updates existing attributes only
