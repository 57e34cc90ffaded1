"""docs/masterportal/services.json cannot drift: each layer entry carries the keys Masterportal
requires for its type, and what Masterportal would request from it exists on the demo gateway
(the example's origin stands for the demo's): the OAF items request with its crs, bbox and
bbox-crs, the SensorThings layer request and its latest-value request, and the MQTT WebSocket
path of `mqttOptions`."""

from __future__ import annotations

import json
import queue
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
import pytest
from pyproj import Transformer

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).resolve().parents[1] / "docs" / "masterportal" / "services.json"
EXAMPLE_ORIGIN = "https://twinbridge.example.org"
REQUIRED = {  # Masterportal's services.json documentation: required keys per `typ`
    "OAF": {"id", "name", "typ", "url", "collection", "gfiAttributes", "gfiTheme", "datasets"},
    "SensorThings": {"id", "name", "typ", "url", "gfiAttributes", "gfiTheme", "legendURL"},
}
ENTRIES = json.loads(SERVICES.read_text(encoding="utf-8"))


def on_demo(url: str, demo: str) -> str:
    assert url.startswith(EXAMPLE_ORIGIN), url
    return demo + url.removeprefix(EXAMPLE_ORIGIN)


def of_type(typ: str) -> list[dict[str, Any]]:
    return [e for e in ENTRIES if e["typ"] == typ]


def test_every_entry_has_the_keys_masterportal_requires() -> None:
    assert {e["typ"] for e in ENTRIES} == set(REQUIRED)
    for entry in ENTRIES:
        assert REQUIRED[entry["typ"]] <= entry.keys(), entry["id"]
    assert len({e["id"] for e in ENTRIES}) == len(ENTRIES)


@pytest.mark.parametrize("entry", of_type("OAF"), ids=lambda e: e["id"])
def test_oaf_entry_answers_masterportals_items_request(live_demo: str, entry: dict) -> None:
    base = on_demo(entry["url"], live_demo).rstrip("/")
    collection = httpx.get(f"{base}/collections/{entry['collection']}", timeout=30)
    assert collection.status_code == 200
    crs = entry["crs"]
    assert crs in collection.json()["crs"]
    west, south, east, north = collection.json()["extent"]["spatial"]["bbox"][0]
    project = Transformer.from_crs("OGC:CRS84", f"EPSG:{crs.rsplit('/', 1)[1]}", always_xy=True)
    bbox = [*project.transform(west, south), *project.transform(east, north)]
    response = httpx.get(
        f"{base}/collections/{entry['collection']}/items",
        params={
            "limit": entry["limit"],
            "bbox": ",".join(map(str, bbox)),
            "bbox-crs": entry.get("bboxCrs", crs),
            "crs": crs,
        },
        headers={"Accept": "application/geo+json"},
        timeout=60,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.headers["content-crs"] == f"<{crs}>"
    assert response.json()["features"]


def masterportal_url(entry: dict, demo: str) -> str:
    """`${url}/v${version}/${root}?$key=value&...` as Masterportal concatenates it."""
    params = dict(entry.get("urlParameter", {}))
    root = params.pop("root", "Things")
    query = "&".join(f"${k}={v}" for k, v in params.items())
    return f"{on_demo(entry['url'], demo)}/v{entry['version']}/{root}?{query}"


@pytest.mark.parametrize("entry", of_type("SensorThings"), ids=lambda e: e["id"])
def test_sensorthings_entry_answers_masterportals_requests(live_demo: str, entry: dict) -> None:
    response = httpx.get(masterportal_url(entry, live_demo), timeout=60)
    assert response.status_code == 200, response.text
    things = response.json()["value"]
    assert things and all(t["Locations"] and t["Datastreams"] for t in things)
    datastream = things[0]["Datastreams"][0]
    assert len(datastream["Observations"]) == 1
    # the latest-value request Masterportal makes for a topic under MQTT 3.1.1
    topic = f"v{entry['version']}/Datastreams({datastream['@iot.id']})/Observations"
    latest = httpx.get(
        f"{on_demo(entry['url'], live_demo)}/{topic}?%24orderby=phenomenonTime%20desc&%24top=1",
        timeout=30,
    )
    assert latest.json()["value"][0]["@iot.id"] == datastream["Observations"][0]["@iot.id"]


@pytest.mark.parametrize("entry", of_type("SensorThings"), ids=lambda e: e["id"])
def test_mqtt_options_name_the_tenants_websocket_on_the_api_origin(
    live_demo: str, entry: dict
) -> None:
    options, url = entry["mqttOptions"], urlsplit(entry["url"])
    assert options["host"] == url.hostname and options["protocol"] == "wss"
    assert options["port"] == "443" and url.scheme == "https"
    assert options["path"] == url.path.removesuffix("/sta") + "/mqtt"  # /{tenant}/mqtt
    demo = urlsplit(live_demo)
    connacks: queue.Queue[Any] = queue.Queue()
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, transport="websockets", protocol=mqtt.MQTTv311
    )
    client.ws_set_options(path=options["path"])
    client.on_connect = lambda c, u, flags, reason, props: connacks.put(reason)
    client.connect(demo.hostname, demo.port)
    client.loop_start()
    try:
        assert not connacks.get(timeout=15).is_failure
    finally:
        client.loop_stop()
        client.disconnect()
