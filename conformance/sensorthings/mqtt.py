"""SensorThings over MQTT, only with --mqtt HOST:PORT (and --allow-writes, since both
checks need a new Observation): receiving updates on a Datastream's Observations topic,
and creating an Observation by publishing to that topic."""

from __future__ import annotations

import asyncio
import json
import random
import time
from urllib.parse import urlsplit

from conformance.context import Test, expect
from conformance.model import CheckSkipped
from conformance.registry import SENSORTHINGS, check
from conformance.sensorthings import api
from conformance.sensorthings.cud import created_url, fixture
from conformance.sensorthings.names import MQTT_CREATE, MQTT_RECEIVE, req

RECEIVE = req(
    MQTT_RECEIVE,
    "receive-updates-via-mqtt/receive-updates",
    "A client subscribed to an entity set's topic SHALL receive the entities created in it",
)
CREATE = req(
    MQTT_CREATE,
    "create-observations-via-mqtt/observations-creation",
    "Publishing an Observation to Datastreams(id)/Observations SHALL create it",
)
WAIT = 10.0


def broker(t: Test) -> tuple[str, int]:
    if not t.ctx.options.mqtt:
        raise CheckSkipped("no MQTT broker given (--mqtt HOST:PORT)")
    if not t.ctx.options.allow_writes:
        raise CheckSkipped("needs a new Observation: use --allow-writes (it changes data)")
    host, _, port = t.ctx.options.mqtt.rpartition(":")
    return host or "127.0.0.1", int(port or 1883)


def topic(t: Test, datastream_id: object) -> str:
    version = urlsplit(api.root_url(t)).path.rstrip("/").rsplit("/", 1)[-1] or "v1.1"
    return f"{version}/Datastreams({api.literal(datastream_id)})/Observations"


@check(
    RECEIVE,
    "sta/mqtt-receive",
    "an Observation created over HTTP arrives on its MQTT topic",
    suite=SENSORTHINGS,
    writes=True,
    needs=(MQTT_RECEIVE.uri,),
)
async def receive(t: Test) -> str:
    import aiomqtt

    host, port = broker(t)
    made = await fixture(t)
    value = round(random.uniform(1000, 2000), 3)
    name = topic(t, made["datastream_id"])
    async with aiomqtt.Client(host, port, timeout=WAIT) as client:
        await client.subscribe(name, qos=1)
        body = {
            "phenomenonTime": "2021-01-01T00:00:00Z",
            "result": value,
            "Datastream": {"@iot.id": made["datastream_id"]},
        }
        got = await t.request("POST", api.set_url(t, "Observations"), json=body)
        created_url(t, got, "Observations")
        deadline = time.monotonic() + WAIT
        try:
            async with asyncio.timeout(WAIT):
                async for message in client.messages:
                    payload = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                    if payload.get("result") == value:
                        return (
                            f"received on {name} after {WAIT - (deadline - time.monotonic()):.1f} s"
                        )
        except TimeoutError:
            pass
    expect(False, f"no Observation with result {value} on {name} within {WAIT:g} s")
    return ""


@check(
    CREATE,
    "sta/mqtt-create",
    "an Observation published over MQTT is created",
    suite=SENSORTHINGS,
    writes=True,
    needs=(MQTT_CREATE.uri,),
)
async def create(t: Test) -> str:
    import aiomqtt

    host, port = broker(t)
    made = await fixture(t)
    value = round(random.uniform(2000, 3000), 3)
    name = topic(t, made["datastream_id"])
    async with aiomqtt.Client(host, port, timeout=WAIT) as client:
        payload = json.dumps({"phenomenonTime": "2021-01-02T00:00:00Z", "result": value})
        await client.publish(name, payload, qos=1)
    url = f"{made['datastream']}/Observations"
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        got = await t.get(url, params={"$filter": f"result eq {value}"}, accept=api.JSON)
        found = api.value_of(got) if got.status == 200 else []
        if found:
            for o in found:
                link = o.get("@iot.selfLink")
                if isinstance(link, str):
                    t.ctx.cleanups.append(lambda u=link: t.ctx.session.fetch("DELETE", u))
            return f"created via {name}"
        await asyncio.sleep(0.5)
    expect(False, f"no Observation with result {value} in {url} {WAIT:g} s after publishing")
    return ""
