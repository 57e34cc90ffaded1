"""Benchmark: live updates over the gateway's MQTT WebSocket vs Mosquitto itself.

    .venv/bin/python bench/mqtt_ws.py [--subscribers 20] [--observations 200] [--qos 0]

Starts `twinbridge serve` twice on fresh SQLite stores: without a broker (the in-process
hub) and bridged to Mosquitto on 127.0.0.1:1883. Each run connects `--subscribers` paho
clients over WebSockets to `/t/mqtt` on `v1.1/Datastreams(1)/Observations`; the bridged
run also connects as many plain TCP clients to Mosquitto on the tenant's prefixed topic
(the peer: the broker delivering the same notifications itself). Then it POSTs
`--observations` Observations one after the other, each waiting until every subscriber
has it, and reports per path the latency from sending the POST to the last subscriber's
receipt (median, 95th percentile) and the deliveries per second. Results go to
`bench/results/mqtt_ws.json`. Clients and servers share the CPUs: compare within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from common import Process, console, launch, main_with_servers, save_results

KEY = "bench-key"
TOPIC = "v1.1/Datastreams(1)/Observations"
THING = {
    "name": "bench",
    "description": "d",
    "Locations": [
        {
            "name": "l",
            "description": "d",
            "encodingType": "application/vnd.geo+json",
            "location": {"type": "Point", "coordinates": [10.0, 53.5]},
        }
    ],
    "Datastreams": [
        {
            "name": "ds",
            "description": "d",
            "unitOfMeasurement": {"name": "C", "symbol": "C", "definition": "x"},
            "observationType": "x",
            "Sensor": {"name": "s", "description": "d", "encodingType": "x", "metadata": "m"},
            "ObservedProperty": {"name": "o", "definition": "x", "description": "d"},
        }
    ],
}


class Counter:
    """Counts receipts of each result across all subscribers."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def on_message(self, client: Any, userdata: Any, message: Any) -> None:
        result = json.loads(message.payload)["result"]
        with self.changed:
            self.seen[result] = self.seen.get(result, 0) + 1
            self.changed.notify_all()

    def wait(self, result: int, count: int, timeout: float = 30) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.seen.get(result, 0) >= count, timeout):
                sys.exit(f"only {self.seen.get(result, 0)} of {count} receipts of {result}")


def _client(counter: Counter, port: int, topic: str, websocket: bool, qos: int) -> mqtt.Client:
    transport = "websockets" if websocket else "tcp"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, transport=transport)
    if websocket:
        client.ws_set_options(path="/t/mqtt")
    client.on_message = counter.on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe(topic, qos=qos)
    return client


def _serve(tmp: Path, procs: list[Process], broker: bool, prefix: str) -> str:
    store = tmp / f"{uuid.uuid4().hex[:8]}.sqlite"
    sta: dict[str, Any] = {"store": {"path": str(store)}, "api_key_env": "BENCH_KEY"}
    server: dict[str, Any] = {}
    if broker:
        sta["mqtt"] = {"topic_prefix": prefix}
        server = {"sensorthings": {"mqtt": {"host": "127.0.0.1", "port": 1883}}}
    config = tmp / f"{uuid.uuid4().hex[:8]}.json"
    config.write_text(json.dumps({"server": server, "tenants": {"t": {"sensorthings": sta}}}))
    command = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
    env = {**os.environ, "BENCH_KEY": KEY}
    base = launch(
        "broker" if broker else "hub",
        tmp,
        procs,
        lambda port: [*command, "--port", str(port), "--log-level", "warning"],
        "/health",
        env,
    )
    httpx.post(f"{base}/t/sta/v1.1/Things", json=THING, headers={"X-API-Key": KEY})
    return base


def _measure(base: str, counter: Counter, subscribers: int, n: int, offset: int) -> list[float]:
    latencies = []
    with httpx.Client(headers={"X-API-Key": KEY}) as http:
        for i in range(offset, offset + n):
            started = time.perf_counter()
            body = {"result": i, "Datastream": {"@iot.id": 1}}
            http.post(f"{base}/t/sta/v1.1/Observations", json=body).raise_for_status()
            counter.wait(i, subscribers)
            latencies.append(time.perf_counter() - started)
    return latencies


def _row(name: str, latencies: list[float], subscribers: int) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    return {
        "path": name,
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 2),
        "deliveries_per_s": round(len(ms) * subscribers / (sum(ms) / 1000), 1),
    }


def _path(args: argparse.Namespace, base: str, websocket: bool, topic: str, port: int) -> list:
    counter = Counter()
    clients = [_client(counter, port, topic, websocket, args.qos) for _ in range(args.subscribers)]
    time.sleep(1.0)  # every SUBACK in
    _measure(base, counter, args.subscribers, 20, 1_000_000)  # warm-up
    latencies = _measure(base, counter, args.subscribers, args.observations, 0)
    for client in clients:
        client.loop_stop()
        client.disconnect()
    return latencies


def run(args: argparse.Namespace, tmp: Path, procs: list[Process]) -> None:
    rows = []
    hub = _serve(tmp, procs, broker=False, prefix="")
    port = int(hub.rsplit(":", 1)[1])
    rows.append(
        _row("WebSocket, in-process hub", _path(args, hub, True, TOPIC, port), args.subscribers)
    )
    prefix = f"bench-{uuid.uuid4().hex[:8]}/"
    bridged = _serve(tmp, procs, broker=True, prefix=prefix)
    port = int(bridged.rsplit(":", 1)[1])
    rows.append(
        _row("WebSocket via Mosquitto", _path(args, bridged, True, TOPIC, port), args.subscribers)
    )
    direct = _path(args, bridged, False, prefix + TOPIC, 1883)
    rows.append(_row("Mosquitto TCP (peer)", direct, args.subscribers))
    for row in rows:
        console.print(row)
    settings = {"subscribers": args.subscribers, "observations": args.observations, "qos": args.qos}
    save_results(Path(__file__).parent / "results" / "mqtt_ws.json", settings, ("paho-mqtt",), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--observations", type=int, default=200)
    parser.add_argument("--qos", type=int, default=0, choices=(0, 1, 2))
    main_with_servers(parser.parse_args(), run, "twinbridge-mqtt-ws-")


if __name__ == "__main__":
    main()
