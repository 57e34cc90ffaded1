"""The `pygeoapi` connector over pygeoapi's SensorThings provider, reading TwinBridge's own
SensorThings API (the demo, served by `twinbridge serve` on a loopback port): Things as
features, paged by `$skip`/`$top`, counted by `$count=true` (resulttype=hits), items by id,
and an unreachable STA answered as the source's failure.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import SourceQuery
from connectors.errors import SourceError
from connectors.pygeoapi import PygeoapiConnector

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def connector(data: str, **more: Any) -> PygeoapiConnector:
    block = {"name": "SensorThings", "data": data, "entity": "Things", **more}
    config = PygeoapiConnector.Config.model_validate({"provider": block, "page_size": 4})
    return PygeoapiConnector(config, base_dir=Path("."), name="test/sta")


def sta_ids(things: list[dict[str, Any]]) -> list[str]:
    """Ids as pygeoapi's provider writes them (strings quoted, as in an OData key)."""
    ids = (t["@iot.id"] for t in things)
    return [f"'{i}'" if isinstance(i, str) else str(i) for i in ids]


def settled(sta: str, seconds: float = 60.0) -> None:
    """Until the demo's syncs have made their Things: the count holds for two seconds
    (new stations appear at a sync's first run; later runs add Observations only)."""
    deadline = time.monotonic() + seconds
    count = None
    while time.monotonic() < deadline:
        now = httpx.get(f"{sta}/Things", params={"$count": "true", "$top": 0}, timeout=30)
        if (current := now.json()["@iot.count"]) == count:
            return
        count = current
        time.sleep(2)


async def test_things_of_an_sta_server_as_features(live_demo: str):
    sta = f"{live_demo}/sta/v1.1"
    settled(sta)
    direct = httpx.get(f"{sta}/Things", params={"$count": "true", "$top": 6}, timeout=30).json()
    total = direct["@iot.count"]
    assert total >= 3
    c = connector(sta)
    await c.open()
    try:
        caps = c.capabilities()
        assert caps.paging and caps.count and not caps.bbox and not caps.sort
        assert "name" in {f.name for f in (await c.describe()).fields}
        result = await c.query(SourceQuery(limit=3, offset=1, want_count=True))
        records = [r async for r in result.records]
        assert result.number_matched == total
        assert [r["id"] for r in records] == sta_ids(direct["value"])[1:4]
        assert [r["properties"]["name"] for r in records] == [
            t["name"] for t in direct["value"][1:4]
        ]
        everything = await c.query(SourceQuery())  # several calls of page_size 4
        assert len([r async for r in everything.records]) == total
        first = records[0]
        found = await c.get(first["id"])
        assert found is not None and found["properties"]["name"] == first["properties"]["name"]
    finally:
        await c.close()


async def test_an_sta_that_answers_errors_is_the_sources_failure(live_demo: str):
    c = connector(f"{live_demo}/no-such-sta")
    with pytest.raises(SourceError, match="test/sta"):
        await c.open()
    await c.close()
