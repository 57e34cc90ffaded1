"""FiLiP (FIWARE's Python client) as the real client of the NGSI-v2 test broker.

Runs in FiLiP's own venv (scripts/setup-filip.sh): `python filip_v2_client.py BROKER_URL
RECEIVER_URL`. Imports nothing from TwinBridge. Each step asserts what Orion would answer
FiLiP; the first failure exits non-zero with its traceback. Prints the subscription id
last, for the caller to match the notification it receives.
"""

from __future__ import annotations

import sys

from filip.clients.exceptions import BaseHttpClientException
from filip.clients.ngsi_v2 import ContextBrokerClient
from filip.models.base import FiwareHeader
from filip.models.ngsi_v2.base import EntityPattern, Expression, Http
from filip.models.ngsi_v2.context import (
    ActionType,
    ContextEntity,
    ContextEntityKeyValues,
    NamedContextAttribute,
    Query,
)
from filip.models.ngsi_v2.subscriptions import Condition, Notification, Subject, Subscription
from filip.utils.simple_ql import QueryString

BERLIN = (52.5162, 13.3777)  # lat, lon
STATION = "urn:ngsi-ld:WeatherObserved:leipzig-1"


def room(i: int) -> ContextEntity:
    lat, lon = BERLIN[0] + i * 0.001, BERLIN[1] + i * 0.001
    return ContextEntity(
        id=f"urn:ngsi:Room:{i:03d}",
        type="Room",
        temperature={"type": "Number", "value": 15 + i % 20},
        name={"type": "Text", "value": f"Room {i}"},
        location={"type": "geo:point", "value": f"{lat}, {lon}"},
    )


def main(broker: str, receiver: str) -> None:
    header = FiwareHeader(service="filip", service_path="/building")
    client = ContextBrokerClient(url=broker, fiware_header=header)
    assert client.get_version()["orion"]["version"]

    # create one by one and in a batch
    client.post_entity(room(0))
    client.update(entities=[room(i) for i in range(1, 1205)], action_type=ActionType.APPEND)

    # paging: FiLiP pages itself with options=count past 1000 per request
    everything = client.get_entity_list(entity_types=["Room"])
    assert len(everything) == 1205, len(everything)
    assert len({e.id for e in everything}) == 1205
    assert len(client.get_entity_list(entity_types=["Room"], limit=7)) == 7

    # q, as a string and as FiLiP's QueryString
    warm = client.get_entity_list(entity_types=["Room"], q="temperature>=33")
    assert warm and all(e.temperature.value >= 33 for e in warm), len(warm)
    assert len(warm) == sum(1 for i in range(1205) if 15 + i % 20 >= 33)
    built = QueryString(qs=[("temperature", "==", 20), ("name", "~=", "Room 1.5")])
    found = client.get_entity_list(entity_types=["Room"], q=built, response_format="keyValues")
    assert {e.id for e in found} == {f"urn:ngsi:Room:{i:03d}" for i in (105, 125, 145, 165, 185)}
    spaced = QueryString(qs=[("name", "==", "Room 7")])  # FiLiP sends it unquoted
    named = client.get_entity_list(entity_types=["Room"], q=spaced)
    assert [e.id for e in named] == ["urn:ngsi:Room:007"]

    # geo-queries: coords are lat,lon
    near = client.get_entity_list(
        entity_types=["Room"],
        georel="near;maxDistance:200",
        geometry="point",
        coords=f"{BERLIN[0]},{BERLIN[1]}",
    )
    assert {e.id for e in near} == {"urn:ngsi:Room:000", "urn:ngsi:Room:001"}, [e.id for e in near]
    (south, west), (north, east) = ((c + 0.0095 for c in BERLIN), (c + 0.0125 for c in BERLIN))
    box = client.get_entity_list(
        entity_types=["Room"],
        georel="coveredBy",
        geometry="box",
        coords=f"{south},{west};{north},{east}",
    )
    assert {e.id for e in box} == {"urn:ngsi:Room:010", "urn:ngsi:Room:011", "urn:ngsi:Room:012"}

    # ordering
    ordered = client.get_entity_list(entity_types=["Room"], order_by="!temperature", limit=3)
    assert [e.temperature.value for e in ordered] == [34, 34, 34]

    # POST /v2/op/query
    queried = client.query(
        query=Query(
            entities=[EntityPattern(idPattern="urn:ngsi:Room:00.*", type="Room")],
            expression=Expression(q="temperature<18"),
        )
    )
    assert sorted(e.id for e in queried) == [f"urn:ngsi:Room:{i:03d}" for i in (0, 1, 2)]

    # updates: one attribute, its value, append, delete
    client.update_attribute_value(entity_id="urn:ngsi:Room:000", attr_name="temperature", value=99)
    assert client.get_attribute_value(entity_id="urn:ngsi:Room:000", attr_name="temperature") == 99
    assert client.get_attribute_value(entity_id="urn:ngsi:Room:000", attr_name="name") == "Room 0"
    client.update_or_append_entity_attributes(
        entity_id="urn:ngsi:Room:000",
        entity_type="Room",
        attrs=[NamedContextAttribute(name="humidity", type="Number", value=55)],
    )
    fetched = client.get_entity(entity_id="urn:ngsi:Room:000", entity_type="Room")
    assert fetched.humidity.value == 55 and fetched.temperature.value == 99
    client.delete_entity_attribute(entity_id="urn:ngsi:Room:000", attr_name="humidity")
    assert "humidity" not in client.get_entity_attributes(entity_id="urn:ngsi:Room:000")
    types = client.get_entity_types()
    assert [t["type"] for t in types] == ["Room"] and types[0]["count"] == 1205
    client.post_entity(
        ContextEntityKeyValues(id="urn:ngsi:Lamp:1", type="Lamp", state="on"), key_values=True
    )
    assert client.get_entity(entity_id="urn:ngsi:Lamp:1", response_format="keyValues").state == "on"
    client.delete_entity(entity_id="urn:ngsi:Lamp:1", entity_type="Lamp")
    assert not client.does_entity_exist(entity_id="urn:ngsi:Lamp:1", entity_type="Lamp")

    # a subscription; the change after it notifies the receiver
    subscription = Subscription(
        description="hot room",
        subject=Subject(
            entities=[EntityPattern(idPattern="urn:ngsi:Room:.*", type="Room")],
            condition=Condition(attrs=["temperature"], expression=Expression(q="temperature>50")),
        ),
        notification=Notification(http=Http(url=receiver), attrs=["temperature"]),
        throttling=0,
    )
    sub_id = client.post_subscription(subscription)
    assert client.get_subscription(sub_id).description == "hot room"
    assert [s.id for s in client.get_subscription_list()] == [sub_id]
    client.update_attribute_value(entity_id="urn:ngsi:Room:005", attr_name="temperature", value=70)

    # batch delete: with attributes it removes those (as Orion), then the bare entities
    client.delete_entities([room(i) for i in range(600, 1205)])
    assert len(client.get_entity_list(entity_types=["Room"])) == 600
    writes(client)
    print(sub_id)


def refused(call: object, status: int) -> dict[str, str]:
    """The error body of a call that Orion refuses with `status`."""
    try:
        call()  # type: ignore[operator]
    except BaseHttpClientException as e:
        assert e.response.status_code == status, (e.response.status_code, e.response.text)
        return e.response.json()
    raise AssertionError(f"no {status}")


def writes(client: ContextBrokerClient) -> None:
    """The writes TwinBridge's ngsi-v2 connector sends, made by FiLiP: create, create again
    (422 Already Exists), update-or-append keeping metadata not named, PATCH of a missing
    attribute (422), replace of all attributes, delete, and 404 for a missing entity."""
    station = ContextEntity(
        id=STATION,
        type="WeatherObserved",
        temperature={
            "type": "Number",
            "value": 3.5,
            "metadata": {"unitCode": {"type": "Text", "value": "CEL"}},
        },
        dateObserved={"type": "DateTime", "value": "2026-12-07T08:00:00Z"},
        location={"type": "geo:point", "value": "51.34, 12.38"},  # FiLiP 0.8 reads no geo:json
    )
    client.post_entity(station)
    error = refused(lambda: client.post_entity(station), 422)
    assert error == {"error": "Unprocessable", "description": "Already Exists"}, error

    client.update_or_append_entity_attributes(
        entity_id=STATION,
        entity_type="WeatherObserved",
        attrs=[
            NamedContextAttribute(name="temperature", type="Number", value=4),
            NamedContextAttribute(name="humidity", type="Number", value=40),
        ],
    )
    got = client.get_entity(entity_id=STATION, entity_type="WeatherObserved")
    assert got.temperature.value == 4 and got.humidity.value == 40
    assert got.temperature.metadata["unitCode"].value == "CEL", got.temperature
    assert got.dateObserved.value == "2026-12-07T08:00:00.000Z", got.dateObserved

    missing = NamedContextAttribute(name="pressure", type="Number", value=1)
    patch = lambda: client.update_existing_entity_attributes(  # noqa: E731
        entity_id=STATION, entity_type="WeatherObserved", attrs=[missing]
    )
    assert refused(patch, 422)["error"] == "Unprocessable"

    client.replace_entity_attributes(
        entity_id=STATION,
        entity_type="WeatherObserved",
        attrs=[NamedContextAttribute(name="temperature", type="Number", value=5)],
    )
    attrs = client.get_entity_attributes(entity_id=STATION, entity_type="WeatherObserved")
    assert set(attrs) == {"temperature"} and attrs["temperature"].value == 5, attrs
    assert not attrs["temperature"].metadata, attrs  # a replace keeps no metadata

    client.delete_entity(entity_id=STATION, entity_type="WeatherObserved")
    gone = refused(
        lambda: client.delete_entity(entity_id=STATION, entity_type="WeatherObserved"), 404
    )
    assert gone["error"] == "NotFound", gone
    assert not client.does_entity_exist(entity_id=STATION, entity_type="WeatherObserved")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
