"""The NGSI-v2 test broker is faithful enough for FiLiP, FIWARE's own Python client: FiLiP
creates, pages (past 1000, by Fiware-Total-Count), queries with q and geo-queries, updates,
runs batch operations and subscribes against it, unchanged, and the notification reaches a
receiver on loopback.

FiLiP pins an older pydantic and paho-mqtt than TwinBridge, so it runs in its own venv
(scripts/setup-filip.sh, called by scripts/test.sh) as a subprocess: tests/ngsi/
filip_v2_client.py.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.demo.ngsibroker import create_app
from gateway.demo.ngsibroker.serve import BrokerThread, serving
from tests.conftest import missing_service

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FILIP_PYTHON = ROOT / ".venv-filip" / "bin" / "python"
SCRIPT = Path(__file__).with_name("filip_v2_client.py")


def test_filip_creates_queries_updates_and_subscribes_unchanged() -> None:
    if not FILIP_PYTHON.exists():
        missing_service("FiLiP's venv is missing (run scripts/setup-filip.sh)")
    received: list[tuple[dict[str, str], Any]] = []

    async def notify(request: Request) -> Response:
        received.append((dict(request.headers), await request.json()))
        return Response(status_code=204)

    receiver = BrokerThread(Starlette(routes=[Route("/notify", notify, methods=["POST"])]))
    receiver_url = receiver.start() + "/notify"
    try:
        with serving(create_app()) as url:
            run = subprocess.run(
                [str(FILIP_PYTHON), str(SCRIPT), url, receiver_url],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stderr[-4000:]
            sub_id = run.stdout.strip().splitlines()[-1]
            deadline = time.monotonic() + 5
            while not received and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        receiver.stop()
    assert len(received) == 1, received
    headers, body = received[0]
    assert body["subscriptionId"] == sub_id
    (entity,) = body["data"]
    assert entity["id"] == "urn:ngsi:Room:005"
    assert entity["temperature"] == {"type": "Number", "value": 70, "metadata": {}}
    assert headers["fiware-service"] == "filip" and headers["fiware-servicepath"] == "/building"
    assert headers["ngsiv2-attrsformat"] == "normalized"
