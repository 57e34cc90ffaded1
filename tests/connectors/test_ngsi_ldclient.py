"""connectors/ngsi/ldclient.py against the NGSI-LD test broker over loopback HTTP: the calls
the connector and the NGSI -> SensorThings sync share (entities, history, subscriptions)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.errors import SourceError
from connectors.ngsi import ldclient
from connectors.remote.http import HttpEndpoint, HttpSettings
from tests.ngsi.ldbroker import ld_broker

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
TARGET = ldclient.LdTarget(tenant="aarhus")


def reading(n: int, hour: int, value: float) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WaterQualityObserved:{n}",
        "type": "WaterQualityObserved",
        "pH": {"type": "Property", "value": value, "observedAt": f"2026-12-01T{hour:02d}:00:00Z"},
    }


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[HttpEndpoint, Any]]:
    with ld_broker() as broker:
        ep = HttpEndpoint(broker.url, HttpSettings(), name="test/ld")
        await ep.open()
        try:
            yield ep, broker
        finally:
            await ep.close()


async def test_upsert_list_iterate_and_get(endpoint):
    ep, broker = endpoint
    await ldclient.upsert_entities(ep, TARGET, [reading(n, 1, 7.0 + n / 10) for n in range(12)])
    page = await ldclient.list_entities(
        ep, TARGET, {"type": "WaterQualityObserved", "q": "pH>7.5"}, limit=3, count=True
    )
    assert page.count == 6 and len(page.entities) == 3  # 7.6 … 8.1
    every = [
        e["id"]
        async for e in ldclient.iter_entities(
            ep, TARGET, {"type": "WaterQualityObserved"}, page_size=5
        )
    ]
    assert len(every) == 12 == len(set(every))
    one = await ldclient.get_entity(
        ep, TARGET, "urn:ngsi-ld:WaterQualityObserved:3", {"options": "keyValues"}
    )
    assert one is not None and one["pH"] == 7.3
    assert await ldclient.get_entity(ep, TARGET, "urn:ngsi-ld:WaterQualityObserved:99") is None
    headers = broker.requests[-1][2]
    assert headers["ngsild-tenant"] == "aarhus" and ldclient.SDM_CONTEXT in headers["link"]


async def test_temporal_history_by_time_and_last_n(endpoint):
    ep, _ = endpoint
    for hour in range(1, 6):
        await ldclient.upsert_entities(ep, TARGET, [reading(0, hour, 7.0 + hour / 10)])
    after = await ldclient.temporal_entities(
        ep,
        TARGET,
        {"type": "WaterQualityObserved", "timerel": "after", "timeAt": "2026-12-01T02:00:00Z"},
    )
    assert [i["value"] for i in after.entities[0]["pH"]] == [7.3, 7.4, 7.5]
    last = await ldclient.temporal_entity(
        ep, TARGET, "urn:ngsi-ld:WaterQualityObserved:0", {"lastN": 2, "options": "temporalValues"}
    )
    assert last is not None
    assert last["pH"]["values"] == [[7.4, "2026-12-01T04:00:00Z"], [7.5, "2026-12-01T05:00:00Z"]]
    assert await ldclient.temporal_entity(ep, TARGET, "urn:ngsi-ld:WaterQualityObserved:9") is None


async def test_subscriptions_are_created_and_errors_name_the_problem(endpoint):
    ep, broker = endpoint
    sub = {
        "type": "Subscription",
        "entities": [{"type": "WaterQualityObserved"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    await ldclient.upsert_entities(ep, TARGET, [reading(0, 1, 7.0)])
    created = await ldclient.create_subscription(ep, TARGET, sub)
    assert created in broker.store.tenants["aarhus"].subscriptions
    with pytest.raises(SourceError, match="BadRequestData.*endpoint.uri"):
        await ldclient.create_subscription(
            ep, TARGET, {"type": "Subscription", "entities": [{"type": "X"}]}
        )
    with pytest.raises(SourceError, match="NonexistentTenant"):
        await ldclient.list_entities(ep, ldclient.LdTarget(tenant="nobody"), {"type": "X"})
    with pytest.raises(SourceError, match="failed in part.*BadRequestData|failed in part"):
        await ldclient.upsert_entities(
            ep, TARGET, [{"id": "urn:x:1", "type": "T", "a": {"type": "Property"}}]
        )
