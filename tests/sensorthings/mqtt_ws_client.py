"""Clients for the MQTT-over-WebSocket tests: paho-mqtt over WebSockets (what mqtt.js and
Masterportal do, in Python), a raw client that writes packets byte by byte (to see each
step of the QoS 2 handshake and to send malformed packets), and a real `twinbridge serve`
with two tenants whose Datastreams share the id 1."""

from __future__ import annotations

import json
import queue
import struct
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from websockets.sync.client import ClientConnection, connect

from tests.conftest import start_gateway
from tests.sensorthings.conftest import KEY, datastream, location, observed_property

TIMEOUT = 10.0  # generous: the machine is shared


class Live:
    """A running gateway: its URL, port and the Datastream id each tenant gave."""

    def __init__(self, url: str, broker: bool) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.broker = broker

    def post(self, path: str, body: Any, key: str | None = KEY) -> httpx.Response:
        headers = {"X-API-Key": key} if key else {}
        return httpx.post(f"{self.url}{path}", json=body, headers=headers, timeout=TIMEOUT)

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.url}{path}", timeout=TIMEOUT).json()

    def observe(self, tenant: str, result: Any, ds: int = 1) -> dict[str, Any]:
        body = {"result": result, "Datastream": {"@iot.id": ds}}
        response = self.post(f"/{tenant}/sta/v1.1/Observations", body)
        assert response.status_code == 201, response.text
        return response.json()

    def count(self, tenant: str, ds: int = 1) -> int:
        path = f"/{tenant}/sta/v1.1/Datastreams({ds})/Observations?$count=true&$top=0"
        return int(self.get(path)["@iot.count"])


@contextmanager
def live_gateway(folder: Path, broker: bool) -> Iterator[Live]:
    """Tenants `a` and `b` with embedded stores; with `broker`, bridged to Mosquitto under
    topic prefixes unique to this run (xdist-safe)."""
    env = f"TB_WS_KEY_{uuid.uuid4().hex[:12]}"
    run = uuid.uuid4().hex[:10]
    tenants: dict[str, Any] = {}
    for name in ("a", "b"):
        sta: dict[str, Any] = {"store": {"path": str(folder / f"{name}.sqlite")}}
        sta["api_key_env"] = env
        if broker:
            sta["mqtt"] = {"topic_prefix": f"tbws-{run}-{name}/"}
        tenants[name] = {"sensorthings": sta}
    server = {"sensorthings": {"mqtt": {"host": "127.0.0.1", "port": 1883}}} if broker else {}
    path = folder / "twinbridge.yaml"
    path.write_text(json.dumps({"server": server, "tenants": tenants}), encoding="utf-8")
    proc, url = start_gateway({env: KEY}, "--config", str(path))
    try:
        live = Live(url, broker)
        for name in ("a", "b"):
            thing = {
                "name": f"thing of {name}",
                "description": "d",
                "Locations": [location(1)],
                "Datastreams": [datastream(1, observed_property(1))],
            }
            assert live.post(f"/{name}/sta/v1.1/Things", thing).status_code == 201
            assert live.get(f"/{name}/sta/v1.1/Datastreams")["value"][0]["@iot.id"] == 1
        yield live
    finally:
        proc.terminate()
        proc.wait(timeout=15)


class PahoWs:
    """paho-mqtt over WebSockets (subprotocol `mqtt`), collecting what arrives."""

    def __init__(self, live: Live, path: str, v5: bool = True, password: str | None = None) -> None:
        self.messages: queue.Queue[tuple[str, int, Any]] = queue.Queue()
        self.acks: queue.Queue[Any] = queue.Queue()
        self.connacks: queue.Queue[Any] = queue.Queue()
        self.disconnects: queue.Queue[Any] = queue.Queue()
        protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, protocol=protocol, transport="websockets"
        )
        client.ws_set_options(path=path)
        if password is not None:
            client.username_pw_set("anyone", password)
        client.on_message = lambda c, u, m: self.messages.put(
            (m.topic, m.qos, orjson.loads(m.payload))
        )
        client.on_subscribe = lambda c, u, mid, codes, props: self.acks.put(
            [getattr(code, "value", code) for code in codes]
        )
        client.on_connect = lambda c, u, flags, reason, props: self.connacks.put(reason)
        client.on_publish = lambda c, u, mid, reason, props: self.acks.put(reason)
        client.on_unsubscribe = lambda c, u, mid, codes, props: self.acks.put(codes)
        client.on_disconnect = lambda c, u, flags, reason, props: self.disconnects.put(reason)
        self.client = client
        client.connect("127.0.0.1", live.port)
        client.loop_start()
        self.connack = self.connacks.get(timeout=TIMEOUT)

    def subscribe(self, *topics: str, qos: int = 0, retain_handling: int = 2) -> list[int]:
        if self.client.protocol == mqtt.MQTTv5:
            options = mqtt.SubscribeOptions(qos=qos, retainHandling=retain_handling)
            self.client.subscribe([(t, options) for t in topics])
        else:
            self.client.subscribe([(t, qos) for t in topics])
        return self.acks.get(timeout=TIMEOUT)

    def publish(self, topic: str, body: Any, qos: int = 1, key: str | None = None) -> Any:
        props = None
        if key is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [("api-key", key)]
        self.client.publish(topic, orjson.dumps(body), qos=qos, properties=props)
        return self.acks.get(timeout=TIMEOUT)

    def next(self, timeout: float = TIMEOUT) -> tuple[str, int, Any]:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# -- a raw client: packets written by hand --------------------------------------------------
def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def text(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("!H", len(raw)) + raw


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + varint(len(body)) + body


def connect_packet(v5: bool = True, keepalive: int = 60, password: str | None = None) -> bytes:
    flags = 0x02 | (0xC0 if password is not None else 0)
    body = text("MQTT") + bytes([5 if v5 else 4, flags]) + struct.pack("!H", keepalive)
    body += (b"\x00" if v5 else b"") + text(f"raw-{uuid.uuid4().hex[:8]}")
    if password is not None:
        body += text("user") + text(password)
    return packet(0x10, body)


def subscribe_packet(pid: int, topic: str, options: int, v5: bool = True) -> bytes:
    body = struct.pack("!H", pid) + (b"\x00" if v5 else b"") + text(topic) + bytes([options])
    return packet(0x82, body)


def publish_packet(topic: str, payload: bytes, qos: int, pid: int = 1, v5: bool = True) -> bytes:
    body = text(topic) + (struct.pack("!H", pid) if qos else b"") + (b"\x00" if v5 else b"")
    return packet(0x30 | (qos << 1), body + payload)


class RawWs:
    """Bytes in, packets out: `read()` returns (type, flags, body) of the next packet."""

    def __init__(self, live: Live, path: str, subprotocols: list[str] | None = None) -> None:
        url = f"ws://127.0.0.1:{live.port}{path}"
        offered: Any = subprotocols or ["mqtt"]
        self._opened = connect(url, subprotocols=offered, open_timeout=TIMEOUT)
        self.ws: ClientConnection = self._opened.__enter__()
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.ws.send(data)

    def read(self) -> tuple[int, int, bytes]:
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            self.buffer += self.ws.recv(timeout=TIMEOUT)  # type: ignore[operator]

    def _parse(self) -> tuple[int, int, bytes] | None:
        if len(self.buffer) < 2:
            return None
        length, shift, i = 0, 0, 1
        while True:
            if i >= len(self.buffer):
                return None
            length |= (self.buffer[i] & 0x7F) << shift
            if not self.buffer[i] & 0x80:
                break
            shift, i = shift + 7, i + 1
        if len(self.buffer) < i + 1 + length:
            return None
        first, body = self.buffer[0], self.buffer[i + 1 : i + 1 + length]
        self.buffer = self.buffer[i + 1 + length :]
        return first >> 4, first & 0x0F, body

    def closed(self) -> bool:
        """True once the server has closed the connection (read until then)."""
        try:
            while True:
                self.buffer += self.ws.recv(timeout=TIMEOUT)  # type: ignore[operator]
        except TimeoutError:
            return False
        except Exception:  # websockets' ConnectionClosed
            return True

    def close(self) -> None:
        self._opened.__exit__(None, None, None)
