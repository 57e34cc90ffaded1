"""OWSLib's `Features` client (no Accept header, as it really sends) against the gateway."""

from __future__ import annotations

import pytest
from owslib.ogcapi.features import Features

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("root", "cid"), [("", "street-trees"), ("/leipzig", "baumkataster")])
def test_owslib_reads_landing_collections_items_and_single_items(live_demo: str, root, cid):
    api = Features(f"{live_demo}{root}/")
    assert any(link["rel"] == "service-desc" for link in api.links)
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (api.conformance()["conformsTo"])
    )
    assert api.api()["openapi"].startswith("3.0")
    assert cid in api.feature_collections()
    assert api.collection(cid)["id"] == cid
    items = api.collection_items(cid, limit=5, bbox=[5, 47, 15, 55])
    assert items["numberReturned"] == 5 and len(items["features"]) == 5
    first = items["features"][0]
    one = api.collection_item(cid, first["id"])
    assert one["id"] == first["id"] and one["properties"] == first["properties"]


def test_owslib_sees_4xx_as_errors(live_demo: str):
    api = Features(f"{live_demo}/")
    with pytest.raises(RuntimeError):
        api.collection_items("street-trees", limit=0)
    with pytest.raises(RuntimeError):
        api.collection("nowhere")
