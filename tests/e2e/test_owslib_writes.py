"""A real Part 4 client: OWSLib's `Features` creates, replaces and deletes items of a
writable GeoPackage collection on a real `twinbridge serve`, with an API key header."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from owslib import ogcapi
from owslib.ogcapi.features import Features

from tests.conftest import start_gateway
from tests.features.test_write_geopackage import gpkg_source, make_file
from tests.features.write_fixtures import MAPPING, WRITER, access, tree

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("owslib-writes")
    path = make_file(folder)
    source = gpkg_source(path)
    config = {
        "tenants": {
            "gp": {
                "access": access(),
                "collections": {
                    "baeume": {"profile": "street-trees", "source": source, "mapping": MAPPING}
                },
            }
        }
    }
    (folder / "gateway.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    proc, url = start_gateway({}, "--config", str(folder / "gateway.yaml"))
    try:
        yield url, path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(name="shared_headers")
def shared_headers_fixture() -> Iterator[None]:
    """OWSLib 0.35 adds a client's headers to its module-wide defaults (every later
    client would send the key): restore them after the test."""
    kept = dict(ogcapi.REQUEST_HEADERS)
    yield
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(kept)


def test_owslib_creates_replaces_and_deletes_items(
    live: tuple[str, Path], shared_headers: None
) -> None:
    url, _ = live
    api = Features(f"{url}/gp/", headers={"X-API-Key": WRITER})
    assert api.collection_item_create("baeume", tree(planting_year=2001)) is True
    created = api.response_headers["Location"]
    fid = created.rsplit("/", 1)[-1]
    assert api.collection_item("baeume", fid)["properties"]["planting_year"] == 2001
    assert api.collection_item_update("baeume", fid, tree(planting_year=2002)) is True
    assert api.collection_item("baeume", fid)["properties"]["planting_year"] == 2002
    assert api.collection_item_delete("baeume", fid) is True
    assert httpx.get(created).status_code == 404


def test_a_write_without_the_key_is_refused(live: tuple[str, Path]) -> None:
    url, path = live
    answer = httpx.post(f"{url}/gp/collections/baeume/items", json=tree())
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
