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


# Masterportal writes a Datastream's @iot.id into the topic as it is: an integer on a
# tenant's socket, the federated view's "hamburg:7" on the federated root's.
ENDPOINTS = {
    "tenant": ("/hamburg/sta", "/hamburg/mqtt", lambda i: i),
    "federated": ("/sta", "/mqtt", lambda i: f"hamburg:{i}"),
}


@pytest.mark.parametrize(
    ("endpoint", "mqtt_version", "rh"),
    [
        ("tenant", "3.1.1", 0),  # with Masterportal's latest-value request over HTTP
        ("tenant", "5.0", 2),
        ("federated", "3.1.1", 2),  # Masterportal's defaults
        ("federated", "5.0", 2),
    ],
    ids=["tenant-mqtt-3.1.1", "tenant-mqtt-5", "federated-mqtt-3.1.1", "federated-mqtt-5"],
)
def test_an_observation_created_over_http_arrives_in_masterportals_mqtt_subscription(
    portal: Any, writable_demo: WritableDemo, mqtt_version: str, rh: int, endpoint: str
) -> None:
    sta_path, mqtt_path, layer_id = ENDPOINTS[endpoint]
    sta = f"{writable_demo.url}{sta_path}"
    datastream = first_datastream(f"{writable_demo.url}/hamburg/sta/v1.1")["@iot.id"]
    topic = f"v1.1/Datastreams({layer_id(datastream)})/Observations"
    mqtt_options = {  # as docs/masterportal/services.json gives them, for this gateway
        "host": "127.0.0.1",
        "port": str(httpx.URL(writable_demo.url).port),
        "path": mqtt_path,
        "protocol": "ws",
        "mqttVersion": mqtt_version,
        "rhPath": sta,  # Masterportal's default: the layer's url
    }

    granted = portal.evaluate(
        "([options, topic, rh]) =>"
        " window.twinbridge.subscribe('live', options, topic, {qos: 2, rh})",
        [mqtt_options, topic, rh],
    )
    assert granted == [{"topic": topic, "qos": 2}]
    if rh == 0:  # MQTT 3.1.1: Masterportal fetched the latest Observation over HTTP instead
        simulated = portal.evaluate("() => window.twinbridge.received('live')")
        newest = latest_observation(f"{writable_demo.url}/hamburg/sta/v1.1", datastream)
        assert [m["observation"]["@iot.id"] for m in simulated] == [layer_id(newest["@iot.id"])]

    result = round(uuid.uuid4().int % 10**6 / 1000, 3)
    sent = time.time()
    created = create_observation(writable_demo, datastream, result)
    portal.wait_for_function(
        "([result]) => window.twinbridge.received('live').some(m => !m.simulated"
        " && m.observation.result === result)",
        arg=[result],
        timeout=WAIT_S * 1000,
    )

    message = next(
        m
        for m in portal.evaluate("() => window.twinbridge.received('live')")
        if not m["simulated"] and m["observation"]["result"] == result
    )
    assert message["topic"] == topic  # the standard topic, whatever the broker's namespace
    assert message["observation"]["@iot.id"] == layer_id(created["@iot.id"])
    latency = message["at"] / 1000 - sent
    print(f"\nlive update, {endpoint} MQTT {mqtt_version}: {latency:.3f} s from POST to page")
    portal.evaluate("() => window.twinbridge.closeLive()")


def test_federated_latest_value_request_takes_the_id_as_masterportal_writes_it(
    live_demo: str,
) -> None:
    """Under MQTT 3.1.1 with mqttRh 0 or 1, Masterportal asks `{url}/{topic}?...` over HTTP,
    its topic holding the Datastream's @iot.id unquoted (the federated socket accepts that)."""
    response = httpx.get(
        f"{live_demo}/sta/v1.1/Datastreams(hamburg:1)/Observations"
        "?%24orderby=phenomenonTime%20desc&%24top=1",
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["value"][0]["@iot.id"].startswith("hamburg:")
