"""ETag, Last-Modified, Cache-Control and Vary on the Features pages, and 304 answers that
never reach the source (its calls are counted)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway import catalog
from gateway.app import create_app
from gateway.config import load_config
from tests.httpcache.files import write_config, write_trees

ITEMS = "/a/collections/trees/items"


class Counted:
    """The gateway, with every call into its sources' data counted."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.calls = 0
        for source in client.app.state.catalog.sources():  # type: ignore[attr-defined]
            for name in ("items", "item", "count", "cheap_count"):
                setattr(source, name, self._counting(getattr(source, name)))

    def _counting(self, call: Any) -> Any:
        async def counted(*args: Any) -> Any:
            self.calls += 1
            return await call(*args)

        return counted

    def get(self, url: str, **headers: str) -> Any:
        return self.client.get(url, headers=headers)


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    monkeypatch.setattr(catalog, "RELOAD_CHECK_SECONDS", 0.0)
    with TestClient(create_app(load_config(write_config(tmp_path)))) as client:
        yield Counted(client)


def rewrite(path: Path, names: list[str]) -> None:
    before = path.stat().st_mtime_ns
    write_trees(path, names)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def test_items_carry_a_strong_etag_and_revalidation_headers(gateway: Counted) -> None:
    r = gateway.get(ITEMS)
    assert r.status_code == 200
    etag = r.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["vary"] == "Accept, Accept-Encoding"
    assert "last-modified" in r.headers
    again = gateway.get(ITEMS)
    assert again.headers["etag"] == etag
    # the tag depends on the request: another query, another format, another tenant
    tags = {
        gateway.get(f"{ITEMS}?limit=2").headers["etag"],
        gateway.get(f"{ITEMS}?f=html").headers["etag"],
        gateway.get(ITEMS, accept="text/html").headers["etag"],
        gateway.get("/b/collections/trees/items").headers["etag"],
    }
    assert etag not in tags and len(tags) == 4
    # the same representation negotiated another way is the same tag
    assert gateway.get(ITEMS, accept="application/geo+json").headers["etag"] == etag


def test_if_none_match_answers_304_without_reading_the_source(gateway: Counted) -> None:
    etag = gateway.get(f"{ITEMS}?limit=2").headers["etag"]
    calls = gateway.calls
    assert calls > 0
    r = gateway.get(f"{ITEMS}?limit=2", **{"if-none-match": f'"nope", W/{etag}'})
    assert r.status_code == 304 and r.content == b""
    assert r.headers["etag"] == etag and r.headers["cache-control"] == "no-cache"
    assert gateway.calls == calls
    one = gateway.get(f"{ITEMS}/2")
    r = gateway.get(f"{ITEMS}/2", **{"if-none-match": one.headers["etag"]})
    assert r.status_code == 304 and gateway.calls == calls + 1
    # the same tag for another request is no match
    assert gateway.get(f"{ITEMS}?limit=3", **{"if-none-match": etag}).status_code == 200


def test_if_modified_since_answers_304_when_nothing_changed_since(gateway: Counted) -> None:
    r = gateway.get(ITEMS)
    calls = gateway.calls
    since = r.headers["last-modified"]
    assert gateway.get(ITEMS, **{"if-modified-since": since}).status_code == 304
    assert gateway.calls == calls
    early = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert gateway.get(ITEMS, **{"if-modified-since": early}).status_code == 200
    # If-None-Match decides when both are sent
    both = {"if-modified-since": since, "if-none-match": '"other"'}
    assert gateway.get(ITEMS, **both).status_code == 200


def test_a_changed_file_changes_the_tag_and_the_answer(gateway: Counted, tmp_path: Path) -> None:
    r = gateway.get(ITEMS)
    etag = r.headers["etag"]
    rewrite(tmp_path / "a.geojson", ["Linde", "Eiche", "Ahorn", "Kastanie"])
    fresh = gateway.get(ITEMS, **{"if-none-match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != etag
    assert fresh.json()["numberReturned"] == 4
    # the federated collection's tag combines its members': it changed too
    root = gateway.get("/collections/street-trees/items")
    assert root.status_code == 200 and root.headers["etag"] != etag


def test_federated_items_get_a_tag_and_304_from_their_members_versions(gateway: Counted) -> None:
    url = "/collections/street-trees/items"
    etag = gateway.get(url).headers["etag"]
    calls = gateway.calls
    assert gateway.get(url, **{"if-none-match": etag}).status_code == 304
    assert gateway.calls == calls


def test_metadata_pages_carry_a_tag_and_a_max_age(gateway: Counted) -> None:
    for path in (
        "/",
        "/conformance",
        "/collections",
        "/a/collections/trees",
        "/a/collections/trees/queryables",
        "/api",
        "/a/api.html",
    ):
        r = gateway.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "max-age=60", path
        assert r.headers["vary"] == "Accept, Accept-Encoding", path
        assert gateway.get(path, **{"if-none-match": r.headers["etag"]}).status_code == 304


def test_a_collection_sets_its_own_items_max_age(gateway: Counted) -> None:
    r = gateway.get("/b/collections/trees/items")
    assert r.headers["cache-control"] == "max-age=30"
    # the federated collection takes the least of its members'
    assert gateway.get("/collections/street-trees/items").headers["cache-control"] == "no-cache"


def test_errors_get_no_tag_and_a_wildcard_needs_an_answer(gateway: Counted) -> None:
    missing = gateway.get("/a/collections/nothing/items", **{"if-none-match": "*"})
    assert missing.status_code == 404 and "etag" not in missing.headers
    bad = gateway.get(f"{ITEMS}?limit=many")
    assert bad.status_code == 400 and "etag" not in bad.headers
    assert gateway.get(f"{ITEMS}/99", **{"if-none-match": "*"}).status_code == 404
    r = gateway.get(f"{ITEMS}/2", **{"if-none-match": "*"})
    assert r.status_code == 304 and r.content == b"" and "etag" in r.headers


def test_other_routes_are_left_alone(gateway: Counted) -> None:
    r = gateway.get("/health")
    assert "etag" not in r.headers and "cache-control" not in r.headers
