"""MQTT over WebSockets on the gateway's own port, with real clients against a real
`twinbridge serve`: bridged to Mosquitto (1883) and, as in the demo, with no broker at all.
Tenants `a` and `b` both have Datastream 1; clients use the standard, unprefixed topics."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import missing_service, require_command
from tests.sensorthings.conftest import KEY, location
from tests.sensorthings.mqtt_ws_client import TIMEOUT, Live, PahoWs, live_gateway

pytestmark = pytest.mark.integration
RECEIVE = "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates"
CREATE = "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations"
NOT_AUTHORIZED = 0x87


@pytest.fixture(scope="module", params=["mosquitto", "no-broker"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    broker = request.param == "mosquitto"
    if broker:
        try:
            socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
        except OSError:
            missing_service("Mosquitto is not listening on 127.0.0.1:1883")
    with live_gateway(tmp_path_factory.mktemp(request.param), broker) as gateway:
        yield gateway


@pytest.fixture
def clients() -> Iterator[list[PahoWs]]:
    made: list[PahoWs] = []
    yield made
    for client in made:
        client.close()


def _open(clients: list[PahoWs], live: Live, path: str, **kwargs) -> PahoWs:
    client = PahoWs(live, path, **kwargs)
    clients.append(client)
    return client


def _drain(client: PahoWs) -> None:
    """Forget what earlier tests' writes left in flight."""
    while True:
        try:
            client.next(timeout=0.2)
        except queue.Empty:
            return


@pytest.mark.parametrize("v5", [True, False], ids=["mqtt5", "mqtt311"])
@pytest.mark.parametrize("qos", [0, 2])
def test_an_observation_posted_over_http_reaches_a_standard_topic_subscriber(
    live, clients, v5, qos
):
    sub = _open(clients, live, "/a/mqtt", v5=v5)
    assert sub.subscribe("v1.1/Datastreams(1)/Observations", qos=qos) == [qos]
    created = live.observe("a", 21.5 + qos)
    topic, got_qos, doc = sub.next()
    assert topic == "v1.1/Datastreams(1)/Observations"
    assert got_qos == qos  # QoS 2 granted and delivered with the QoS 2 handshake
    assert doc["result"] == 21.5 + qos
    assert doc["@iot.selfLink"] == created["@iot.selfLink"]


def test_tenants_with_the_same_datastream_id_do_not_see_each_other(live, clients):
    sub_a = _open(clients, live, "/a/mqtt")
    sub_b = _open(clients, live, "/b/mqtt")
    for sub in (sub_a, sub_b):
        assert sub.subscribe("v1.1/Datastreams(1)/Observations", qos=1) == [1]
    live.observe("b", "from b")
    live.observe("a", "from a")
    assert sub_a.next()[2]["result"] == "from a"
    assert sub_b.next()[2]["result"] == "from b"
    with pytest.raises(queue.Empty):
        sub_a.next(timeout=1.0)
    with pytest.raises(queue.Empty):
        sub_b.next(timeout=1.0)


@pytest.mark.parametrize("v5", [True, False], ids=["mqtt5", "mqtt311"])
def test_topics_outside_the_sta_grammar_are_refused(live, clients, v5):
    sub = _open(clients, live, "/a/mqtt", v5=v5)
    topics = [
        "v1.1/Observations",
        "a/v1.1/Observations",  # the broker's namespaced topic is not the client's
        "$SYS/broker/uptime",
        "v1.1/#",
        "v1.1/Datastreams(1)/Nonsense",
        "v1.1/Things(1)/Datastreams(1)/Sensor/Datastreams",
        "v1.1/Datastreams('x')/Observations",
    ]
    codes = sub.subscribe(*topics, qos=1)
    assert codes[0] == 1
    assert all(code >= 0x80 for code in codes[1:])
    if v5:
        assert codes[1] == NOT_AUTHORIZED and codes[3] == 0xA2  # wildcards unsupported
    else:
        assert set(codes[1:]) == {0x80}


def test_an_unsubscribed_topic_receives_nothing(live, clients):
    sub = _open(clients, live, "/a/mqtt")
    sub.subscribe("v1.1/Datastreams(1)/Observations", "v1.1/Observations", qos=0)
    sub.client.unsubscribe("v1.1/Datastreams(1)/Observations")
    sub.acks.get(timeout=10)  # the UNSUBACK
    live.observe("a", 99)
    topics = {sub.next()[0]}
    with pytest.raises(queue.Empty):
        topics.add(sub.next(timeout=1.0)[0])
    assert topics == {"v1.1/Observations"}


@pytest.mark.parametrize("v5", [True, False], ids=["mqtt5", "mqtt311"])
def test_anonymous_publish_is_refused_and_creates_nothing(live, clients, v5):
    before = live.count("a")
    pub = _open(clients, live, "/a/mqtt", v5=v5)
    body = {"result": "anonymous"}
    if v5:
        reason = pub.publish("v1.1/Datastreams(1)/Observations", body, qos=1)
        assert reason.value == NOT_AUTHORIZED
    else:  # MQTT 3.1.1 has no negative PUBACK: the server closes the connection
        pub.client.publish("v1.1/Datastreams(1)/Observations", b'{"result": 1}', qos=1)
        pub.disconnects.get(timeout=10)
    assert live.count("a") == before


@pytest.mark.parametrize("v5", [True, False], ids=["mqtt5", "mqtt311"])
def test_publishing_with_the_tenants_key_creates_an_observation(live, clients, v5):
    sub = _open(clients, live, "/a/mqtt")
    sub.subscribe("v1.1/Datastreams(1)/Observations", qos=1)
    _drain(sub)
    pub = _open(clients, live, "/a/mqtt", v5=v5, password=KEY)
    before = live.count("a")
    reason = pub.publish("v1.1/Datastreams(1)/Observations", {"result": "keyed"}, qos=1)
    if v5:
        assert reason.value == 0
    assert sub.next()[2]["result"] == "keyed"
    assert live.count("a") == before + 1


def test_the_key_as_an_mqtt5_user_property_creates(live, clients):
    pub = _open(clients, live, "/b/mqtt")
    before = live.count("b")
    reason = pub.publish(
        "v1.1/Observations", {"result": 5, "Datastream": {"@iot.id": 1}}, qos=1, key=KEY
    )
    assert reason.value == 0
    assert live.count("b") == before + 1


def test_a_wrong_password_is_refused_at_connect(live):
    client = PahoWs(live, "/a/mqtt", password="wrong")
    try:
        assert client.connack.value == 0x86  # bad user name or password
    finally:
        client.close()


def test_the_federated_root_translates_ids_and_refuses_local_ones(live, clients):
    sub = _open(clients, live, "/mqtt")
    codes = sub.subscribe(
        "v1.1/Datastreams('b:1')/Observations",
        "v1.1/Datastreams(a:1)/Observations",  # as a client pasting the @iot.id writes it
        "v1.1/Datastreams(1)/Observations",  # which tenant's? none: refused
        qos=1,
    )
    assert codes == [1, 1, NOT_AUTHORIZED]
    _drain(sub)
    live.observe("b", "b on the federated root")
    topic, _, doc = sub.next()
    while doc["result"] != "b on the federated root":  # an earlier test's write, still in flight
        topic, _, doc = sub.next()
    assert topic == "v1.1/Datastreams('b:1')/Observations"
    assert doc["@iot.id"].startswith("b:")
    assert doc["@iot.selfLink"] == f"{live.url}/sta/v1.1/Observations('{doc['@iot.id']}')"
    assert doc["Datastream@iot.navigationLink"].startswith(f"{live.url}/sta/v1.1/Observations('b:")
    reason = sub.publish("v1.1/Datastreams('b:1')/Observations", {"result": 1}, key=KEY)
    assert reason.value == NOT_AUTHORIZED  # the federated view is read-only


def test_the_root_documents_announce_the_websocket_endpoints(live):
    host = f"127.0.0.1:{live.port}"
    settings = live.get("/a/sta/v1.1/")["serverSettings"]
    assert RECEIVE in settings["conformance"] and CREATE in settings["conformance"]
    assert settings[RECEIVE]["endpoints"][0] == f"ws://{host}/a/mqtt"
    assert settings[CREATE]["endpoints"][0] == f"ws://{host}/a/mqtt"
    if live.broker:
        assert settings[RECEIVE]["endpoints"][1] == "mqtt://127.0.0.1:1883"
    federated = live.get("/sta/v1.1/")["serverSettings"]
    assert federated[RECEIVE] == {"endpoints": [f"ws://{host}/mqtt"]}
    assert CREATE not in federated
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "city.example"}
    doc = httpx.get(f"{live.url}/a/sta/v1.1/", headers=forwarded, timeout=10).json()
    assert doc["serverSettings"][RECEIVE]["endpoints"][0] == "wss://city.example/a/mqtt"


def test_sockets_of_unknown_tenants_and_without_the_mqtt_subprotocol_are_refused(live):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    for path, subprotocols in (("/nope/mqtt", ["mqtt"]), ("/a/mqtt", None)):
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{live.port}{path}", subprotocols=subprotocols)


def test_a_thing_that_moves_announces_its_new_location(live, clients):
    sub = _open(clients, live, "/a/mqtt")
    assert sub.subscribe("v1.1/Things(1)/Locations", qos=2) == [2]
    response = live.post("/a/sta/v1.1/Things(1)/Locations", location(7))
    assert response.status_code == 201, response.text
    topic, qos, doc = sub.next()
    assert (topic, qos) == ("v1.1/Things(1)/Locations", 2)
    assert doc["name"] == "location 7"
    assert doc["location"] == location(7)["location"]


@pytest.mark.parametrize("version", [4, 5], ids=["mqtt311", "mqtt5"])
def test_mqttjs_receives_an_observation_with_qos2(live, version):
    """mqtt.js, the client of Masterportal and most web maps (npm, installed by
    scripts/setup-web.sh)."""
    node = require_command("node")
    module = Path(__file__).parents[2] / "web" / "node_modules" / "mqtt"
    if not module.is_dir():
        missing_service("mqtt.js is not installed (run scripts/setup-web.sh)")
    script = Path(__file__).with_name("mqttjs_subscriber.cjs")
    url = f"ws://127.0.0.1:{live.port}/a/mqtt"
    args = [node, str(script), str(module), url, "v1.1/Datastreams(1)/Observations", str(version)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
        assert json.loads(lines.get(timeout=TIMEOUT)) == {"ready": [2]}
        live.observe("a", f"mqtt.js {version}")
        while True:
            message = json.loads(lines.get(timeout=TIMEOUT))
            if message["doc"]["result"] == f"mqtt.js {version}":
                break
        assert message["topic"] == "v1.1/Datastreams(1)/Observations"
        assert message["qos"] == 2
    finally:
        proc.kill()
        proc.wait(timeout=10)
