"""A page on another origin reads both facades from a real browser: Chromium sends its
preflights and `Accept-Encoding: gzip, deflate, br, zstd`, so this also proves that it
decodes the streamed, compressed pages; a write from that origin is refused. A web app on
an origin in `write_origins` replaces a Features item with If-Match and an API key, and reads
the new ETag."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.browser.conftest import Problems
from tests.conftest import start_gateway
from tests.features.test_write_demo import DEMO_KEY, demo_tenant

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
    """A document of the same server under another host name: another origin for the
    browser. A JSON one: the HTML pages' own Content-Security-Policy allows them to
    connect to their own origin only."""
    return gateway.replace("127.0.0.1", "localhost") + "/health"


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
    page.goto(other_origin(live_demo))
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
        page.goto(other_origin(live_demo))
        assert page.evaluate(WRITE, f"{live_demo}/hamburg/sta/v1.1/Things") == "refused"
        page.wait_for_timeout(200)  # the console messages come after the promise
        assert any("CORS" in p for p in problems), problems  # the browser said why
    finally:
        context.close()


# --- Features writes (Part 4) from a web app on another origin ------------------------

EDIT = """async ([item, key, height, tag]) => {
    // X-API-Key and If-Match are not CORS-safelisted, nor is PUT: Chromium preflights it
    const read = await fetch(item, {headers: {"Accept": "application/geo+json"}});
    const doc = await read.json();
    const body = {type: "Feature", id: doc.id, geometry: doc.geometry,
                  properties: {...doc.properties, height_m: height}};
    const put = await fetch(item, {method: "PUT", body: JSON.stringify(body), headers: {
        "Content-Type": "application/geo+json", "X-API-Key": key,
        "If-Match": tag || read.headers.get("ETag")}});
    const again = await fetch(item, {headers: {"Accept": "application/geo+json"}});
    return {readTag: read.headers.get("ETag"), status: put.status,
            newTag: put.headers.get("ETag"), error: put.status >= 400 ? await put.json() : null,
            againTag: again.headers.get("ETag"), height: (await again.json()).properties.height_m};
}"""
TRY_EDIT = (
    "async (args) => {\n    try { return await (" + EDIT + ")(args); }"
    ' catch (e) { return "refused"; }\n}'
)


class PageServer:
    """A web app's own origin: a blank page on another port of 127.0.0.1."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = b"<!doctype html><title>Barrier reports</title><p>app</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def app_page() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def writable_gateway(
    demo_dir: Path, app_page: PageServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`twinbridge serve` of the demo's München trees (a copy of their GeoPackage, its real
    mapping and write key) with the app's origin in `write_origins`."""
    folder = tmp_path_factory.mktemp("cors-write")
    copy = folder / "muenchen.gpkg"
    shutil.copy(demo_dir / "muenchen.gpkg", copy)
    config = {
        "server": {"cors": {"write_origins": [app_page.origin]}},
        "tenants": {"muenchen": demo_tenant(copy)},
    }
    path = folder / "gateway.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    proc, url = start_gateway({}, "--config", str(path))
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def first_item(gateway: str) -> str:
    page = httpx.get(f"{gateway}/muenchen/collections/baeume/items?limit=1").json()
    return f"{gateway}/muenchen/collections/baeume/items/{page['features'][0]['id']}"


def test_a_web_app_on_another_origin_replaces_an_item_with_if_match_and_a_key(
    page: Any, writable_gateway: str, app_page: PageServer
) -> None:
    item = first_item(writable_gateway)
    page.goto(app_page.origin)
    # Chromium preflights the PUT (Playwright does not show preflights): the PUT is only
    # sent, with its key and If-Match, when the gateway's answer allowed all of them
    got = page.evaluate(EDIT, [item, DEMO_KEY, 17.5, None])
    assert got["status"] == 204, got
    assert got["newTag"] and got["newTag"] != got["readTag"]  # ETag exposed to the page
    assert got["againTag"] == got["newTag"] and got["height"] == 17.5


def test_a_stale_tag_is_a_412_the_app_reads_and_other_origins_cannot_write(
    chromium: Any, writable_gateway: str, app_page: PageServer
) -> None:
    item = first_item(writable_gateway)
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(app_page.origin)
        stale = page.evaluate(EDIT, [item, DEMO_KEY, 18.0, '"stale"'])
        assert stale["status"] == 412 and stale["error"]["code"] == "PreconditionFailed"
        assert stale["height"] != 18.0
        problems = Problems()
        problems.watch(page)
        page.goto(other_origin(writable_gateway))  # may read, not write
        assert page.evaluate(TRY_EDIT, [item, DEMO_KEY, 19.0, None]) == "refused"
        page.wait_for_timeout(200)  # the console messages come after the promise
        assert any("CORS" in p for p in problems), problems
        assert httpx.get(item).json()["properties"]["height_m"] not in (18.0, 19.0)
    finally:
        context.close()
