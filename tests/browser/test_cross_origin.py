"""A page on another origin reads both facades from a real browser: Chromium sends its
preflights and `Accept-Encoding: gzip, deflate, br, zstd`, so this also proves that it
decodes the streamed, compressed pages; a write from that origin is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Problems

pytestmark = pytest.mark.integration

READ = """async (url) => {
    // X-Request-Id is not CORS-safelisted: the browser sends a preflight first
    const r = await fetch(url, {headers: {"Accept": "application/geo+json",
                                          "X-Request-Id": "from-the-map-page"}});
    const doc = await r.json();
    return {status: r.status, encoding: r.headers.get("content-encoding"),
            requestId: r.headers.get("x-request-id"),
            rows: (doc.features || doc.value).length, returned: doc.numberReturned};
}"""
WRITE = """async (url) => {
    try {
        const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify({name: "t", description: "d"})});
        return "answered " + r.status;
    } catch (e) { return "refused"; }
}"""


def other_origin(gateway: str) -> str:
    """The same server under another host name: another origin for the browser."""
    return gateway.replace("127.0.0.1", "localhost")


@pytest.mark.parametrize(
    ("path", "rows"),
    [
        ("/hamburg/collections/strassenbaeume/items?limit=3000", 3000),  # streamed
        ("/collections/street-trees/items?limit=50", 50),
        ("/sta/v1.1/Things?$top=5", 5),
        ("/leipzig/sta/v1.1/Observations?$top=20", 20),
    ],
)
def test_a_page_on_another_origin_reads_both_facades(
    page: Any, live_demo: str, path: str, rows: int
) -> None:
    page.goto(f"{other_origin(live_demo)}/?f=html")
    url = f"{live_demo}{path}"
    with page.expect_response(lambda r: r.url == url and r.request.method == "GET") as answer:
        got = page.evaluate(READ, url)
    assert got["status"] == 200 and got["rows"] == rows
    assert got["requestId"] == "from-the-map-page"  # an exposed header
    if "limit=3000" in path:  # streamed and compressed; decoded by the browser
        assert answer.value.headers["content-encoding"] in ("zstd", "br", "gzip")
        assert got["returned"] == rows


def test_a_write_from_another_origin_is_refused(chromium: Any, live_demo: str) -> None:
    context = chromium.new_context()
    try:
        page = context.new_page()
        problems = Problems()
        problems.watch(page)
        page.goto(f"{other_origin(live_demo)}/?f=html")
        assert page.evaluate(WRITE, f"{live_demo}/hamburg/sta/v1.1/Things") == "refused"
        page.wait_for_timeout(200)  # the console messages come after the promise
        assert any("CORS" in p for p in problems), problems  # the browser said why
    finally:
        context.close()
