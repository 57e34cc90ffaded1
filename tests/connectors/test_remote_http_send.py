"""HttpEndpoint.send, the shared layer's write: sent once whatever the answer (a retry
could apply a create twice), any status handed back with its body, within the size cap and
below the base only; connection faults are the upstream's (SourceError/SourceTimeout)."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.errors import SourceAnswerTooLarge, SourceError, SourceTimeout
from connectors.remote.http import HttpEndpoint, HttpSettings

pytestmark = pytest.mark.anyio
BASE = "https://broker.example"


async def endpoint(**settings: object) -> HttpEndpoint:
    e = HttpEndpoint(BASE, HttpSettings.model_validate(settings), name="city/broker")
    await e.open()
    return e


@respx.mock
async def test_a_write_is_sent_once_and_its_answer_handed_back() -> None:
    route = respx.post(f"{BASE}/v2/entities").mock(
        return_value=httpx.Response(503, json={"error": "busy"})
    )
    e = await endpoint(retries=3)
    answer = await e.send(
        "POST", f"{BASE}/v2/entities", headers={"X-A": "1"}, content=b'{"id": "a"}'
    )
    assert answer.status == 503 and answer.content == b'{"error":"busy"}'
    assert route.call_count == 1
    sent = route.calls.last.request
    assert sent.content == b'{"id": "a"}' and sent.headers["X-A"] == "1"
    await e.close()


@respx.mock
async def test_write_faults_are_the_upstreams_and_never_retried() -> None:
    down = respx.put(f"{BASE}/a").mock(side_effect=httpx.ConnectError("refused"))
    slow = respx.delete(f"{BASE}/b").mock(side_effect=httpx.ReadTimeout("slow"))
    respx.patch(f"{BASE}/c").mock(return_value=httpx.Response(200, content=b"x" * 5000))
    e = await endpoint(retries=3, max_response_bytes=1024)
    with pytest.raises(SourceError):
        await e.send("PUT", f"{BASE}/a", content=b"{}")
    with pytest.raises(SourceTimeout):
        await e.send("DELETE", f"{BASE}/b")
    with pytest.raises(SourceAnswerTooLarge):
        await e.send("PATCH", f"{BASE}/c", content=b"{}")
    with pytest.raises(ValueError, match="not below"):
        await e.send("DELETE", "https://elsewhere.example/v2/entities/x")
    assert down.call_count == 1 and slow.call_count == 1
    await e.close()
