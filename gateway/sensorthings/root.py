"""The service root document: the entity sets and `serverSettings` with the conformance
classes this service actually implements and, when MQTT is on, its endpoint."""

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


def root_document(
    root: str,
    classes: list[str],
    mqtt_endpoint: str | None,
    topic_prefix: str | None,
    sets: tuple[str, ...] = ROOT_SETS,
) -> dict[str, Any]:
    settings: dict[str, Any] = {"conformance": classes}
    if mqtt_endpoint is not None:
        mqtt: dict[str, Any] = {"endpoints": [mqtt_endpoint]}
        if topic_prefix:
            mqtt["topicPrefix"] = topic_prefix
        for uri in (MQTT_CREATE, MQTT_RECEIVE):
            if uri in classes:
                settings[uri] = mqtt
    return {
        "value": [{"name": name, "url": f"{root}/{name}"} for name in sets],
        "serverSettings": settings,
    }
