"""The service root document: the entity sets and `serverSettings` with the conformance
classes this service actually implements and, per MQTT class, its endpoints."""

from __future__ import annotations

from typing import Any

from gateway.sensorthings.model import ROOT_SETS

BASE = "http://www.opengis.net/spec/iot_sensing/1.1/req/"
READ = ("datamodel", "resource-path/resource-path-to-entities", "request-data")
MQTT_CREATE = BASE + "create-observations-via-mqtt/observations"
MQTT_RECEIVE = BASE + "receive-updates-via-mqtt/receive-updates"


def conformance(
    writable: bool, multi_datastream: bool, mqtt_create: bool, mqtt_receive: bool
) -> list[str]:
    classes = [BASE + c for c in READ]
    if multi_datastream:
        classes.append(BASE + "multi-datastream")
    if writable:
        classes += [BASE + "create-update-delete", BASE + "data-array/data-array"]
    else:
        classes.append(BASE + "data-array/data-array-read")
    if mqtt_create:
        classes.append(MQTT_CREATE)
    if mqtt_receive:
        classes.append(MQTT_RECEIVE)
    return classes


def mqtt_settings(
    websocket: str | None,
    on_socket: tuple[bool, bool],
    broker: tuple[str, bool, bool, str] | None,
) -> dict[str, dict[str, Any]]:
    """The MQTT extension's entries of `serverSettings`: per class, the endpoints offering
    it: the gateway's own WebSocket (`on_socket` = receives updates, takes creates; standard
    topics) and the broker (`broker` = endpoint, publishes, takes creates, topic prefix).
    `topicPrefix` belongs to the broker's endpoint only; WebSocket topics carry none."""
    out: dict[str, dict[str, Any]] = {}
    for uri, socket_on, index in ((MQTT_CREATE, on_socket[1], 2), (MQTT_RECEIVE, on_socket[0], 1)):
        broker_on = broker is not None and bool(broker[index])
        endpoints = [websocket] if socket_on and websocket else []
        if broker_on and broker is not None:
            endpoints.append(broker[0])
        if endpoints:
            out[uri] = {"endpoints": endpoints}
            if broker_on and broker is not None and broker[3]:
                out[uri]["topicPrefix"] = broker[3]
    return out


def root_document(
    root: str,
    classes: list[str],
    mqtt: dict[str, dict[str, Any]],
    sets: tuple[str, ...] = ROOT_SETS,
) -> dict[str, Any]:
    return {
        "value": [{"name": name, "url": f"{root}/{name}"} for name in sets],
        "serverSettings": {"conformance": classes, **mqtt},
    }
