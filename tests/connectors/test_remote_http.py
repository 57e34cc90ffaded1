"""The shared HTTP layer of remote sources: what it fetches, how often it retries, and how
much it reads. Faults a real server will not produce on demand come from respx."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import pytest
import respx

from connectors.errors import SourceAnswerTooLarge, SourceError, SourceRefused, SourceTimeout
from connectors.remote.http import HttpEndpoint, HttpSettings, RetryBudget

pytestmark = pytest.mark.anyio
BASE = "https://upstream.example/v1.1"


async def endpoint(**settings: object) -> HttpEndpoint:
    e = HttpEndpoint(BASE, HttpSettings.model_validate(settings), name="city/sta")
    await e.open()
    return e


async def test_only_urls_below_the_base_are_fetched() -> None:
    e = await endpoint()
    with pytest.raises(ValueError, match="not below"):
        await e.get("https://upstream.example/v1.10/Things")
    with pytest.raises(ValueError, match="not below"):
        await e.get("http://169.254.169.254/latest/meta-data")
    await e.close()


@respx.mock
async def test_a_gateway_error_upstream_is_retried_once_then_reported() -> None:
    route = respx.get(f"{BASE}/Things").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"value": []})]
    )
    e = await endpoint(retries=1)
    assert (await e.get(f"{BASE}/Things")).status == 200
    assert route.call_count == 2
    route.side_effect = [httpx.Response(502), httpx.Response(502)]
    with pytest.raises(SourceError, match="answered 502"):
        await e.get(f"{BASE}/Things")
    await e.close()


@respx.mock
async def test_client_errors_and_timeouts_are_not_retried() -> None:
    refused = respx.get(f"{BASE}/Things").mock(return_value=httpx.Response(400, json={}))
    slow = respx.get(f"{BASE}/Sensors").mock(side_effect=httpx.ReadTimeout("slow"))
    e = await endpoint(retries=3)
    assert (await e.get(f"{BASE}/Things")).status == 400
    with pytest.raises(SourceTimeout):
        await e.get(f"{BASE}/Sensors")
    assert refused.call_count == 1 and slow.call_count == 1
    await e.close()


@respx.mock
async def test_retries_stay_within_the_budget_during_an_outage() -> None:
    route = respx.get(f"{BASE}/Things").mock(side_effect=httpx.ConnectError("refused"))
    e = await endpoint(retries=1)
    e.budget = RetryBudget(ratio=0.1, floor=0.0)
    for _ in range(30):
        with pytest.raises(SourceError):
            await e.get(f"{BASE}/Things")
    # 30 requests: the initial token, plus one retry per ten requests
    assert route.call_count <= 30 + 1 + 3
    await e.close()


@respx.mock
async def test_answers_over_the_cap_are_refused_announced_or_not() -> None:
    big = b"x" * 5000
    respx.get(f"{BASE}/announced").mock(return_value=httpx.Response(200, content=big))
    respx.get(f"{BASE}/streamed").mock(
        return_value=httpx.Response(200, stream=httpx.ByteStream(big))
    )
    bomb = gzip.compress(b"[" + b"0," * 500_000 + b"0]")
    respx.get(f"{BASE}/bomb").mock(
        return_value=httpx.Response(200, content=bomb, headers={"content-encoding": "gzip"})
    )
    e = await endpoint(max_response_bytes=4096)
    for path in ("announced", "streamed"):
        with pytest.raises(SourceAnswerTooLarge):
            await e.get(f"{BASE}/{path}")
    assert len(bomb) < 4096  # small on the wire, a megabyte unpacked
    with pytest.raises(SourceAnswerTooLarge, match="more than 4096 bytes"):
        await e.get(f"{BASE}/bomb")
    await e.close()


@respx.mock
async def test_redirects_are_not_followed() -> None:
    respx.get(f"{BASE}/Things").mock(
        return_value=httpx.Response(302, headers={"location": "http://127.0.0.1:22/"})
    )
    e = await endpoint()
    assert (await e.get(f"{BASE}/Things")).status == 302
    await e.close()


@respx.mock
async def test_a_url_beyond_the_limit_or_one_httpx_refuses_is_the_requests_fault() -> None:
    """Neither reaches the upstream, and neither counts against it: SourceRefused (a 400)."""
    route = respx.get(url__startswith=BASE).mock(return_value=httpx.Response(200, json={}))
    e = await endpoint(max_url_length=300)
    with pytest.raises(SourceRefused) as long:
        await e.get(f"{BASE}/Things?$filter=" + "x" * 300)
    assert long.value.status == 414
    with pytest.raises(SourceRefused) as invalid:
        await e.get(f"{BASE}/Things('a\x00b')")
    assert invalid.value.status == 400
    assert route.call_count == 0
    await e.close()


async def test_a_kvp_endpoint_owns_its_url_with_more_parameters_only() -> None:
    e = HttpEndpoint("http://127.0.0.1:1/ms?map=trees", HttpSettings(), name="city/wfs")
    assert e.owns("http://127.0.0.1:1/ms?map=trees&SERVICE=WFS")
    assert not e.owns("http://127.0.0.1:1/ms?map=trees/../other&SERVICE=WFS")
    assert not e.owns("http://127.0.0.1:1/ms?map=treesX&SERVICE=WFS")
    plain = HttpEndpoint("http://127.0.0.1:1/wfs", HttpSettings(), name="city/wfs")
    assert plain.owns("http://127.0.0.1:1/wfs?SERVICE=WFS")
    assert not plain.owns("http://127.0.0.1:1/wfsx?SERVICE=WFS")


@respx.mock
async def test_a_streamed_get_is_retried_before_it_starts_and_capped_while_read() -> None:
    route = respx.get(f"{BASE}/big").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=b"x" * 5000)]
    )
    e = await endpoint(retries=1, max_response_bytes=4096)
    async with e.stream(f"{BASE}/big") as answer:
        assert answer.status == 200
        with pytest.raises(SourceAnswerTooLarge):
            async for _ in answer.chunks():
                pass
    assert route.call_count == 2
    await e.close()


@respx.mock
async def test_a_streamed_post_is_never_retried() -> None:
    route = respx.post(f"{BASE}/wfs").mock(return_value=httpx.Response(503))
    e = await endpoint(retries=3)
    with pytest.raises(SourceError, match="answered 503"):
        async with e.stream(f"{BASE}/wfs", content=b"<GetFeature/>"):
            pass
    assert route.call_count == 1
    await e.close()


def test_a_cookie_set_by_the_upstream_never_rides_along_with_later_requests() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, json={}, headers={"Set-Cookie": "session=alice; Path=/"})

    async def main() -> None:
        endpoint = HttpEndpoint("http://upstream.test/api", HttpSettings(), name="t/c")
        await endpoint.open()
        with respx.mock:
            respx.get(url__startswith="http://upstream.test/api").mock(side_effect=answer)
            await endpoint.get("http://upstream.test/api/a")
            await endpoint.get("http://upstream.test/api/b")
        await endpoint.close()

    asyncio.run(main())
    assert seen == [None, None]


def test_an_endpoint_driven_from_two_event_loops_keeps_their_connections_apart() -> None:
    """A keep-alive connection belongs to the loop that opened it: an app served from two
    loops (a test client's portal and a loop thread) must not read one loop's socket
    from the other ('bound to a different event loop', an answer cut off)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = b'{"value": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1.1"
    e = HttpEndpoint(base, HttpSettings(), name="city/sta")
    first = asyncio.new_event_loop()
    runner = threading.Thread(target=first.run_forever, daemon=True)
    runner.start()
    try:

        def on_first(coro: object) -> object:
            return asyncio.run_coroutine_threadsafe(coro, first).result(timeout=10)  # type: ignore[arg-type]

        on_first(e.open())
        assert on_first(e.get(f"{base}/Things")).status == 200  # pooled, on the first loop

        async def from_another_loop() -> list[int]:
            return [(await e.get(f"{base}/Things")).status for _ in range(3)]

        assert asyncio.run(from_another_loop()) == [200, 200, 200]
        assert on_first(e.get(f"{base}/Things")).status == 200  # its own connection still
        on_first(e.close())
    finally:
        first.call_soon_threadsafe(first.stop)
        runner.join(timeout=5)
        server.shutdown()
