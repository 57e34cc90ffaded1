"""The sync's calls to the brokers, over loopback HTTP: polling windows (v2 `q` on
dateModified, LD modifiedAt kept client-side) and the subscription kept idempotently."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.demo.ngsi_seed import LINK, ROTTERDAM_PATH, ROTTERDAM_SERVICE
from gateway.demo.ngsibroker import create_app as create_broker
from gateway.demo.ngsibroker.ld import create_ld_app
from gateway.sensorthings.sync import subscribe
from gateway.sensorthings.sync.config import NgsiSync
from gateway.sensorthings.sync.ngsi import NgsiSource
from tests.sensorthings.ngsi_sync import seed, serve

V2 = {"Fiware-Service": ROTTERDAM_SERVICE, "Fiware-ServicePath": ROTTERDAM_PATH}


@pytest.fixture(scope="module")
def v2_broker() -> Iterator[str]:
    with serve(create_broker(v2=True)) as url:
        seed(url, None, hours=1)
        yield url


@pytest.fixture(scope="module")
def ld_broker() -> Iterator[str]:
    with serve(create_ld_app()) as url:
        seed(None, url, hours=1)
        yield url


def v2_source(url: str, **extra: Any) -> NgsiSource:
    cfg = NgsiSync.model_validate(
        {
            "kind": "ngsi-v2",
            "name": "air",
            "url": url,
            "service": ROTTERDAM_SERVICE,
            "service_path": ROTTERDAM_PATH,
            "types": ["AirQualityObserved"],
            "page_size": 3,
            **extra,
        }
    )
    return NgsiSource("t", cfg)


async def _polls(source: NgsiSource, between: Any) -> tuple[list, list]:
    try:
        first = await source.poll()
        await asyncio.sleep(0.2)
        source.watermark = int(time.time() * 1_000_000)  # after every seeded change
        await asyncio.sleep(0.2)
        await asyncio.to_thread(between)
        return first, await source.poll()
    finally:
        await source.close()


def test_a_v2_poll_reads_only_entities_modified_since_the_window(v2_broker):
    def touch() -> None:
        r = httpx.post(
            f"{v2_broker}/v2/entities/Rotterdam-AirQualityObserved-NL01496/attrs",
            json={"no2": {"type": "Number", "value": 1.5}},
            headers=V2,
        )
        assert r.status_code == 204

    first, second = asyncio.run(_polls(v2_source(v2_broker), touch))
    assert len(first) == 10  # in pages of 3
    assert [e.id for e in second] == ["Rotterdam-AirQualityObserved-NL01496"]


def test_an_ld_poll_keeps_only_entities_modified_since_the_window(ld_broker):
    cfg = NgsiSync.model_validate(
        {"kind": "ngsi-ld", "name": "a", "url": ld_broker, "types": ["WaterQualityObserved"]}
    )

    def touch() -> None:
        r = httpx.patch(
            f"{ld_broker}/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:AAR-BUGT/attrs",
            json={"pH": {"type": "Property", "value": 8.1, "observedAt": "2026-03-02T13:00:00Z"}},
            headers={"Link": LINK},
        )
        assert r.status_code == 204, r.text

    first, second = asyncio.run(_polls(NgsiSource("t", cfg), touch))
    assert len(first) == 3
    assert [e.id for e in second] == ["urn:ngsi-ld:WaterQualityObserved:AAR-BUGT"]
    assert [(r.attribute, r.value) for r in second[0].readings if r.attribute == "pH"] == [
        ("pH", 8.1)
    ]


def test_a_changed_secret_replaces_the_subscription_instead_of_adding_one(v2_broker):
    env = f"TB_SYNC_SECRET_{uuid.uuid4().hex[:8]}"
    sub = {"notify_url": "http://127.0.0.1:9/t/sync/ngsi/air/notify", "secret_env": env}

    async def ensure() -> str:
        source = v2_source(v2_broker, subscription=sub)
        try:
            return await subscribe.ensure(source)
        finally:
            await source.close()

    try:
        os.environ[env] = "first"
        one = asyncio.run(ensure())
        assert asyncio.run(ensure()) == one
        source = v2_source(v2_broker, subscription=sub)  # a second worker's, made meanwhile
        twin = subscribe.v2_subscription(source, "first")
        assert httpx.post(f"{v2_broker}/v2/subscriptions", json=twin, headers=V2).is_success
        assert asyncio.run(ensure()) == one  # and the twin is gone
        os.environ[env] = "second"
        two = asyncio.run(ensure())
    finally:
        os.environ.pop(env, None)
    subs = httpx.get(f"{v2_broker}/v2/subscriptions", headers=V2).json()
    assert two != one and [s["id"] for s in subs] == [two]
    assert subs[0]["notification"]["httpCustom"]["headers"] == {"X-TwinBridge-Secret": "second"}
    with pytest.raises(Exception, match="holds no secret"):
        asyncio.run(ensure())
