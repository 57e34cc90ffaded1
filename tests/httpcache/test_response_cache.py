"""The response cache: repeated identical GETs answered from kept bytes without reaching
the source; never for credentials, partial answers or streamed pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from gateway import catalog
from gateway.app import create_app
from gateway.config import load_config
from gateway.httpcache.conditions import Validator
from gateway.httpcache.middleware import ResponseCache
from gateway.httpcache.store import MemoryStore
from tests.httpcache.files import collection, write_config
from tests.httpcache.test_conditional import ITEMS, Counted, rewrite


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    monkeypatch.setattr(catalog, "RELOAD_CHECK_SECONDS", 0.0)
    with TestClient(create_app(load_config(write_config(tmp_path)))) as client:
        yield Counted(client)


def test_a_repeated_request_is_answered_from_the_cache(gateway: Counted) -> None:
    first = gateway.get(f"{ITEMS}?limit=2")
    assert first.headers["x-cache"] == "miss"
    calls = gateway.calls
    second = gateway.get(f"{ITEMS}?limit=2")
    assert second.headers["x-cache"] == "hit" and gateway.calls == calls
    assert second.content == first.content
    assert "age" not in first.headers and second.headers["age"].isdigit()  # RFC 9111 §5.1
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == "application/geo+json"
    # a conditional request on a kept answer is a 304
    r = gateway.get(f"{ITEMS}?limit=2", **{"if-none-match": first.headers["etag"]})
    assert r.status_code == 304 and r.headers["etag"] == first.headers["etag"]
    # another Accept-Encoding is another entry (the answer is kept as sent)
    assert gateway.get(f"{ITEMS}?limit=2", **{"accept-encoding": "br"}).headers["x-cache"] == (
        "miss"
    )


def test_a_changed_source_is_not_answered_from_the_cache(gateway: Counted, tmp_path: Path) -> None:
    gateway.get(ITEMS)
    assert gateway.get(ITEMS).headers["x-cache"] == "hit"
    rewrite(tmp_path / "a.geojson", ["Linde"])
    r = gateway.get(ITEMS)
    assert r.headers["x-cache"] == "miss" and r.json()["numberReturned"] == 1


def test_a_member_without_a_version_is_kept_for_its_ttl_and_the_others_still_count(
    gateway: Counted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """b/trees (response_ttl 5) as if it had no version: the federated answer is kept,
    without an ETag, until a's file changes."""
    versions = gateway.client.app.state.validators.versions  # type: ignore[attr-defined]
    known = versions.data

    async def data(source: Any) -> Any:
        return None if source.name == "b/trees" else await known(source)

    monkeypatch.setattr(versions, "data", data)
    url = "/collections/street-trees/items"
    first = gateway.get(url)
    assert "etag" not in first.headers and first.headers["x-cache"] == "miss"
    assert gateway.get(url).headers["x-cache"] == "hit"
    rewrite(tmp_path / "a.geojson", ["Linde"])
    assert gateway.get(url).headers["x-cache"] == "miss"


@pytest.mark.parametrize("credentials", [{"authorization": "Bearer t"}, {"x-api-key": "k"}])
def test_requests_with_credentials_are_never_cached(
    gateway: Counted, credentials: dict[str, str]
) -> None:
    gateway.get(ITEMS)
    calls = gateway.calls
    r = gateway.get(ITEMS, **credentials)
    assert r.status_code == 200 and "x-cache" not in r.headers and gateway.calls > calls


def test_streamed_pages_and_errors_are_not_cached(gateway: Counted) -> None:
    gateway.get(f"{ITEMS}?limit=1001")
    assert gateway.get(f"{ITEMS}?limit=1001").headers["x-cache"] == "miss"
    gateway.get(f"{ITEMS}?limit=-1")
    assert gateway.get(f"{ITEMS}?limit=-1").headers["x-cache"] == "miss"


def test_a_partial_federated_answer_has_no_tag_and_is_not_kept(tmp_path: Path) -> None:
    """A member that cannot be read leaves a flagged partial answer, even where every
    member's answers could be kept for a while without a version."""
    kept = {"http_cache": {"response_ttl": 60}}
    config = write_config(tmp_path, c={"trees": collection("missing.geojson", **kept)})
    with TestClient(create_app(load_config(config))) as client:
        url = "/collections/street-trees/items"
        first = client.get(url)
        assert first.status_code == 200 and "warning" in first.headers
        assert first.json()["twinbridge:failedSources"]
        assert "etag" not in first.headers and first.headers["cache-control"] == "no-store"
        assert client.get(url).headers["x-cache"] == "miss"


class Stub:
    """An application answering with given headers and body, counting its calls."""

    def __init__(self, headers: list[tuple[bytes, bytes]], body: bytes = b"{}") -> None:
        self.headers, self.body, self.calls = headers, body, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        half = len(self.body) // 2
        await send({"type": "http.response.body", "body": self.body[:half], "more_body": True})
        await send({"type": "http.response.body", "body": self.body[half:]})


class Fixed:
    def __init__(self, validator: Validator) -> None:
        self.validator = validator

    async def resolve(self, scope: Scope) -> Validator:
        return self.validator


def cached(app: Stub, max_entry_bytes: int = 10_000, **validator: Any) -> TestClient:
    v = Validator('"t"', None, "no-cache", "Accept", "key", **validator)
    store = MemoryStore(1_000_000, max_entry_bytes)
    return TestClient(ResponseCache(app, Fixed(v), store, max_entry_bytes))  # type: ignore[arg-type]


def test_an_answer_whose_route_says_no_store_gets_no_tag_and_is_not_kept() -> None:
    from gateway.httpcache.conditional import ConditionalRequests

    app = Stub([(b"content-type", b"text/html"), (b"cache-control", b"no-store")])
    v = Validator('"t"', None, "no-cache", "Accept", "key")
    inner = ConditionalRequests(app, Fixed(v))  # type: ignore[arg-type]
    client = TestClient(ResponseCache(inner, Fixed(v), MemoryStore(10**6, 10**5), 10**5))  # type: ignore[arg-type]
    first = client.get("/x")
    assert "etag" not in first.headers and first.headers["cache-control"] == "no-store"
    assert client.get("/x").headers["x-cache"] == "miss" and app.calls == 2


def test_partial_answers_are_not_cached() -> None:
    app = Stub([(b"warning", b'199 - "partial"')])
    client = cached(app)
    assert client.get("/x").headers["x-cache"] == "miss"
    assert client.get("/x").headers["x-cache"] == "miss" and app.calls == 2


def test_answers_above_the_entry_cap_are_sent_whole_but_not_kept() -> None:
    app = Stub([(b"content-type", b"application/json")], body=b"[" + b"1," * 3000 + b"1]")
    client = cached(app, max_entry_bytes=5_000)
    assert client.get("/x").content == app.body
    assert client.get("/x").headers["x-cache"] == "miss" and app.calls == 2
    small = Stub([(b"content-type", b"application/json")], body=b"[1,2,3]")
    client = cached(small, max_entry_bytes=5_000)
    client.get("/x")
    assert client.get("/x").content == b"[1,2,3]" and small.calls == 1


def test_a_versionless_answer_is_kept_only_for_its_ttl() -> None:
    app = Stub([(b"content-type", b"application/json")])
    client = cached(app, ttl=0.0)
    client.get("/x")
    assert client.get("/x").headers["x-cache"] == "miss" and app.calls == 2
    client = cached(app, ttl=60.0)
    client.get("/x")
    assert client.get("/x").headers["x-cache"] == "hit"


def test_a_kept_answer_is_revalidated_against_the_tag_it_was_sent_with() -> None:
    app = Stub([(b"content-type", b"application/json"), (b"etag", b'"t-gzip"')])
    client = cached(app)
    client.get("/x")
    assert client.get("/x", headers={"If-None-Match": '"t-gzip"'}).status_code == 304
    assert client.get("/x", headers={"If-None-Match": "*"}).status_code == 304
    other = client.get("/x", headers={"If-None-Match": '"t"'})  # another coding's tag
    assert other.status_code == 200 and other.headers["x-cache"] == "hit"
    assert app.calls == 1


def test_hits_and_304s_are_counted_under_their_route(gateway: Counted) -> None:
    def counted(name: str, **labels: str) -> float:
        text = gateway.get("/metrics").text
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines = [ln for ln in text.splitlines() if ln.startswith(name) and want in ln]
        return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines)

    route = "/{tenant}/collections/{cid}/items"
    etag = gateway.get(ITEMS).headers["etag"]
    hits = counted("twinbridge_response_cache_total", result="hit")
    ok = counted("twinbridge_requests_total", route=route, status="200")
    not_modified = counted("twinbridge_requests_total", route=route, status="304")
    gateway.get(ITEMS)
    gateway.get(ITEMS, **{"if-none-match": etag})
    assert counted("twinbridge_response_cache_total", result="hit") == hits + 2
    assert counted("twinbridge_requests_total", route=route, status="200") == ok + 1
    assert counted("twinbridge_requests_total", route=route, status="304") == not_modified + 1
