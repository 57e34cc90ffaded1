"""Live updates as Masterportal receives them: mqtt.js in the page, over a WebSocket on the
gateway's own port (`ws://<host>:<port>/{tenant}/mqtt`, the layer's `mqttOptions`), subscribed
to the standard topic `v1.1/Datastreams(<id>)/Observations` with QoS 2; an Observation
created over HTTP must arrive. Once with Mosquitto behind the gateway, once with no broker
configured (the demo's live updates). MQTT 3.1.1 with Masterportal's HTTP stand-in for
retained messages (the latest-value request), and MQTT 5 with retain handling 2."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.browser.masterportal.conftest import WritableDemo

pytestmark = pytest.mark.integration

# Arrival is what is asserted; the bound only tells "arrives" from "never" on a loaded
# machine (the 2 s is the figure the test reports, see `latency`).
WAIT_S = 15


def first_datastream(sta: str) -> dict[str, Any]:
    return httpx.get(f"{sta}/Datastreams", params={"$top": "1"}, timeout=30).json()["value"][0]


def latest_observation(sta: str, datastream: int) -> dict[str, Any]:
    return httpx.get(
        f"{sta}/Datastreams({datastream})/Observations",
        params={"$orderby": "phenomenonTime desc", "$top": "1"},
        timeout=30,
    ).json()["value"][0]


def create_observation(demo: WritableDemo, datastream: int, result: float) -> dict[str, Any]:
    response = httpx.post(
        f"{demo.url}/hamburg/sta/v1.1/Observations",
        json={
            "phenomenonTime": datetime.now(UTC).isoformat(timespec="seconds"),
            "result": result,
            "Datastream": {"@iot.id": datastream},
        },
        headers={"X-API-Key": demo.key},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("mqtt_version", "rh"), [("3.1.1", 0), ("5.0", 2)], ids=["mqtt-3.1.1", "mqtt-5"]
)
def test_an_observation_created_over_http_arrives_in_masterportals_mqtt_subscription(
    portal: Any, writable_demo: WritableDemo, mqtt_version: str, rh: int
) -> None:
    sta = f"{writable_demo.url}/hamburg/sta"
    datastream = first_datastream(f"{sta}/v1.1")["@iot.id"]
    topic = f"v1.1/Datastreams({datastream})/Observations"
    mqtt_options = {  # as docs/masterportal/services.json gives them, for this gateway
        "host": "127.0.0.1",
        "port": str(httpx.URL(writable_demo.url).port),
        "path": "/hamburg/mqtt",
        "protocol": "ws",
        "mqttVersion": mqtt_version,
        "rhPath": sta,
    }

    granted = portal.evaluate(
        "([options, topic, rh]) => window.twinbridge.subscribe('hh', options, topic, {qos: 2, rh})",
        [mqtt_options, topic, rh],
    )
    assert granted == [{"topic": topic, "qos": 2}]
    if rh == 0:  # MQTT 3.1.1: Masterportal fetched the latest Observation over HTTP instead
        simulated = portal.evaluate("() => window.twinbridge.received('hh')")
        newest = latest_observation(f"{sta}/v1.1", datastream)
        assert [m["observation"]["@iot.id"] for m in simulated] == [newest["@iot.id"]]

    result = round(uuid.uuid4().int % 10**6 / 1000, 3)
    sent = time.time()
    created = create_observation(writable_demo, datastream, result)
    portal.wait_for_function(
        "([result]) => window.twinbridge.received('hh').some(m => !m.simulated"
        " && m.observation.result === result)",
        arg=[result],
        timeout=WAIT_S * 1000,
    )

    message = next(
        m
        for m in portal.evaluate("() => window.twinbridge.received('hh')")
        if not m["simulated"] and m["observation"]["result"] == result
    )
    assert message["topic"] == topic  # the standard topic, whatever the broker's namespace
    assert message["observation"]["@iot.id"] == created["@iot.id"]
    latency = message["at"] / 1000 - sent
    print(f"\nlive update {mqtt_version}: {latency:.3f} s from the POST to the page")
    portal.evaluate("() => window.twinbridge.closeLive()")
