"""The NGSI-v2 test broker over loopback HTTP, as Orion's manual describes the API: paging
limits and counts, error bodies and status codes, tenants and service paths,
representations, builtin attributes, ordering, geo-queries on geo:point, and
subscriptions whose notifications reach a receiver started here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.demo.ngsibroker import create_app
from gateway.demo.ngsibroker.serve import BrokerThread, serving

pytestmark = pytest.mark.integration
SERVICE = {"Fiware-Service": "Test"}


@pytest.fixture(scope="module")
def broker() -> Iterator[httpx.Client]:
    with serving(create_app()) as url, httpx.Client(base_url=url, timeout=10) as client:
        rooms = [
            {
                "id": f"Room{i}",
                "type": "Room",
                "temperature": {"value": 18 + i},
                "name": {"value": f"Room {i}"},
                **({"humidity": {"value": 40 + i}} if i % 2 else {}),
                "location": {"type": "geo:point", "value": f"41.{i:02d}, 2.{i:02d}"},
            }
            for i in range(25)
        ]
        answer = client.post(
            "/v2/op/update", json={"actionType": "append", "entities": rooms}, headers=SERVICE
        )
        assert answer.status_code == 204, answer.text
        yield client


def error(answer: httpx.Response, status: int, name: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == name and isinstance(body["description"], str)
    return body["description"]


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [e["id"] for e in answer.json()]


def test_limit_defaults_to_20_and_more_than_1000_is_a_bad_request(broker: httpx.Client):
    assert len(ids(broker.get("/v2/entities", headers=SERVICE))) == 20
    error(broker.get("/v2/entities?limit=1001", headers=SERVICE), 400, "BadRequest")
    error(broker.get("/v2/entities?limit=0", headers=SERVICE), 400, "BadRequest")
    error(broker.get("/v2/entities?offset=-1", headers=SERVICE), 400, "BadRequest")
    assert ids(broker.get("/v2/entities?offset=500", headers=SERVICE)) == []


def test_count_comes_in_fiware_total_count(broker: httpx.Client):
    answer = broker.get("/v2/entities?options=count&limit=3&q=humidity", headers=SERVICE)
    assert answer.headers["Fiware-Total-Count"] == "12" and len(answer.json()) == 3
    assert "Fiware-Total-Count" not in broker.get("/v2/entities", headers=SERVICE).headers


def test_trailing_slashes_and_version_as_filip_calls_them(broker: httpx.Client):
    assert broker.get("/v2/entities/?limit=1", headers=SERVICE).status_code == 200
    version = broker.get("/version").json()["orion"]["version"]
    assert tuple(int(p) for p in version.split(".")) >= (3, 6)


def test_errors_use_orions_names_and_status_codes(broker: httpx.Client):
    error(broker.get("/v2/entities/Nope", headers=SERVICE), 404, "NotFound")
    error(
        broker.post("/v2/entities", json={"id": "Room1", "type": "Room"}, headers=SERVICE),
        422,
        "Unprocessable",
    )
    broken = broker.post(
        "/v2/entities", content=b"{nope", headers={**SERVICE, "Content-Type": "application/json"}
    )
    error(broken, 400, "ParseError")
    error(broker.get("/v2/entities?q=name==a(b", headers=SERVICE), 400, "BadRequest")
    error(broker.get("/v2/entities?id=a&idPattern=b", headers=SERVICE), 400, "BadRequest")
    bad_value = {"id": "X", "type": "Room", "name": {"value": "<script>"}}
    error(broker.post("/v2/entities", json=bad_value, headers=SERVICE), 400, "BadRequest")
    plain = broker.post(
        "/v2/entities", content=b"{}", headers={**SERVICE, "Content-Type": "text/plain"}
    )
    error(plain, 415, "UnsupportedMediaType")


def test_an_id_under_two_types_is_ambiguous_without_its_type(broker: httpx.Client):
    headers = {"Fiware-Service": "twins"}
    for kind in ("Room", "Car"):
        broker.post("/v2/entities", json={"id": "T1", "type": kind}, headers=headers)
    error(broker.get("/v2/entities/T1", headers=headers), 409, "TooManyResults")
    assert broker.get("/v2/entities/T1?type=Car", headers=headers).json()["type"] == "Car"


def test_tenants_are_lower_cased_and_service_paths_scope_queries():
    with serving(create_app()) as url, httpx.Client(base_url=url) as client:
        for path, eid in (("/a", "A"), ("/a/b", "AB"), ("/c", "C"), (None, "Root")):
            headers = {"Fiware-Service": "City", **({"Fiware-ServicePath": path} if path else {})}
            client.post("/v2/entities", json={"id": eid, "type": "T"}, headers=headers)

        def found(path: str | None, service: str = "city") -> set[str]:
            headers = {"Fiware-Service": service, **({"Fiware-ServicePath": path} if path else {})}
            return set(ids(client.get("/v2/entities", headers=headers)))

        assert found(None) == {"A", "AB", "C", "Root"}  # no header: /#
        assert found("/") == {"Root"} and found("/a") == {"A"}
        assert found("/a/#") == {"A", "AB"} and found("/a,/c") == {"A", "C"}
        assert found(None, "CITY") == found(None) and found(None, "other") == set()
        bad = client.get("/v2/entities", headers={"Fiware-ServicePath": "a/b"})
        error(bad, 400, "BadRequest")
        created = client.post(
            "/v2/entities", json={"id": "Z", "type": "T"}, headers={"Fiware-ServicePath": "/a/#"}
        )
        error(created, 400, "BadRequest")


def test_key_values_values_unique_and_attrs(broker: httpx.Client):
    kv = broker.get("/v2/entities/Room3?options=keyValues", headers=SERVICE).json()
    assert kv["temperature"] == 21 and kv["location"] == "41.03, 2.03"
    assert broker.get(
        "/v2/entities/Room3?options=values&attrs=temperature,name", headers=SERVICE
    ).json() == [21, "Room 3"]
    unique = broker.get(
        "/v2/entities?options=unique&attrs=location&type=Room&limit=100&q=temperature<20",
        headers=SERVICE,
    )
    assert len(unique.json()) == 2
    normalized = broker.get("/v2/entities/Room3?attrs=temperature", headers=SERVICE).json()
    assert normalized == {
        "id": "Room3",
        "type": "Room",
        "temperature": {"type": "Number", "value": 21, "metadata": {}},
    }


def test_mq_filters_on_metadata(broker: httpx.Client):
    headers = {"Fiware-Service": "meta"}
    for eid, unit in (("M1", "GQ"), ("M2", "GP")):
        entity = {
            "id": eid,
            "type": "T",
            "no2": {"value": 1, "metadata": {"unitCode": {"value": unit}}},
        }
        broker.post("/v2/entities", json=entity, headers=headers)
    assert ids(broker.get("/v2/entities?mq=no2.unitCode==GQ", headers=headers)) == ["M1"]
    assert ids(broker.get("/v2/entities?mq=no2.unitCode", headers=headers)) == ["M1", "M2"]


def test_builtin_dates_appear_only_when_asked_for(broker: httpx.Client):
    plain = broker.get("/v2/entities/Room3", headers=SERVICE).json()
    assert "dateCreated" not in plain
    dated = broker.get(
        "/v2/entities/Room3?attrs=dateCreated,dateModified,*", headers=SERVICE
    ).json()
    assert dated["dateCreated"]["type"] == "DateTime" and dated["dateCreated"]["value"].endswith(
        "Z"
    )
    assert "temperature" in dated


def test_order_by_puts_missing_values_first_and_reverses_with_a_bang(broker: httpx.Client):
    ordered = ids(
        broker.get("/v2/entities?orderBy=humidity&limit=14&attrs=humidity", headers=SERVICE)
    )
    assert ordered[:13] == [f"Room{i}" for i in range(0, 25, 2)]  # no humidity: first
    descending = ids(broker.get("/v2/entities?orderBy=!temperature&limit=3", headers=SERVICE))
    assert descending == ["Room24", "Room23", "Room22"]


def test_geo_queries_read_geo_point_values_as_lat_lon(broker: httpx.Client):
    near = broker.get(
        "/v2/entities",
        params={"georel": "near;maxDistance:1000", "geometry": "point", "coords": "41.03,2.03"},
        headers=SERVICE,
    )
    assert set(ids(near)) == {"Room3"}
    boxed = broker.get(
        "/v2/entities",
        params={
            "georel": "coveredBy",
            "geometry": "box",
            "coords": "41.0,2.0;41.025,2.025",
            "limit": 100,
        },
        headers=SERVICE,
    )
    assert set(ids(boxed)) == {"Room0", "Room1", "Room2"}


def test_batch_update_actions(broker: httpx.Client):
    headers = {"Fiware-Service": "batch"}

    def batch(action: str, *entities: dict[str, Any]) -> httpx.Response:
        return broker.post(
            "/v2/op/update",
            json={"actionType": action, "entities": list(entities)},
            headers=headers,
        )

    assert batch("append", {"id": "B", "type": "T", "a": {"value": 1}}).status_code == 204
    error(batch("appendStrict", {"id": "B", "type": "T", "a": {"value": 2}}), 422, "Unprocessable")
    assert batch("update", {"id": "B", "type": "T", "a": {"value": 3}}).status_code == 204
    error(batch("update", {"id": "B", "type": "T", "zz": {"value": 3}}), 422, "Unprocessable")
    assert batch("replace", {"id": "B", "type": "T", "b": {"value": 4}}).status_code == 204
    assert broker.get("/v2/entities/B?options=keyValues", headers=headers).json() == {
        "id": "B",
        "type": "T",
        "b": 4,
    }
    assert batch("delete", {"id": "B", "type": "T"}).status_code == 204
    error(broker.get("/v2/entities/B", headers=headers), 404, "NotFound")


class Receiver:
    """A loopback HTTP server that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], Any]] = []

        async def notify(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.json()))
            return Response(status_code=204)

        self.thread = BrokerThread(Starlette(routes=[Route("/notify", notify, methods=["POST"])]))
        self.url = self.thread.start() + "/notify"

    def wait(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def test_subscriptions_notify_changed_entities_with_custom_headers(broker: httpx.Client):
    receiver = Receiver()
    headers = {"Fiware-Service": "subs", "Fiware-ServicePath": "/rooms"}
    try:
        subscription = {
            "description": "hot rooms",
            "subject": {
                "entities": [{"idPattern": "Room.*", "type": "Room"}],
                "condition": {"attrs": ["temperature"], "expression": {"q": "temperature>25"}},
            },
            "notification": {
                "httpCustom": {"url": receiver.url, "headers": {"X-Secret": "s3"}},
                "attrs": ["temperature"],
                "attrsFormat": "keyValues",
            },
        }
        created = broker.post("/v2/subscriptions", json=subscription, headers=headers)
        assert created.status_code == 201, created.text
        sub_id = created.headers["Location"].rsplit("/", 1)[-1]
        broker.post(
            "/v2/entities",
            json={"id": "Room1", "type": "Room", "temperature": {"value": 20}},
            headers=headers,
        )
        broker.patch("/v2/entities/Room1/attrs", json={"name": {"value": "cold"}}, headers=headers)
        broker.patch(
            "/v2/entities/Room1/attrs", json={"temperature": {"value": 30}}, headers=headers
        )
        receiver.wait(1)
        time.sleep(0.2)  # nothing else may come
        assert len(receiver.received) == 1
        sent_headers, body = receiver.received[0]
        assert body == {
            "subscriptionId": sub_id,
            "data": [{"id": "Room1", "type": "Room", "temperature": 30}],
        }
        assert (
            sent_headers["x-secret"] == "s3" and sent_headers["ngsiv2-attrsformat"] == "keyValues"
        )
        assert (
            sent_headers["fiware-service"] == "subs"
            and sent_headers["fiware-servicepath"] == "/rooms"
        )
        shown = broker.get(f"/v2/subscriptions/{sub_id}", headers=headers).json()
        assert shown["notification"]["timesSent"] == 1 and shown["status"] == "active"
        assert broker.delete(f"/v2/subscriptions/{sub_id}", headers=headers).status_code == 204
        error(broker.get(f"/v2/subscriptions/{sub_id}", headers=headers), 404, "NotFound")
    finally:
        receiver.thread.stop()


def test_expired_throttled_and_only_changed_attributes(broker: httpx.Client):
    receiver = Receiver()
    headers = {"Fiware-Service": "subs2"}

    def subscribe(**more: Any) -> str:
        notification = {"http": {"url": receiver.url}, "attrsFormat": "keyValues"}
        notification.update(more.pop("notification", {}))
        body = {
            "subject": {"entities": [{"id": "Lamp", "type": "Lamp"}]},
            "notification": notification,
            **more,
        }
        created = broker.post("/v2/subscriptions", json=body, headers=headers)
        assert created.status_code == 201, created.text
        return created.headers["Location"].rsplit("/", 1)[-1]

    try:
        gone = subscribe(expires="2020-01-01T00:00:00Z")
        slow = subscribe(throttling=60)
        changed = subscribe(notification={"onlyChangedAttrs": True})
        lamp = {"id": "Lamp", "type": "Lamp", "on": {"value": True}, "watts": {"value": 9}}
        broker.post("/v2/entities", json=lamp, headers=headers)
        receiver.wait(2)
        broker.patch("/v2/entities/Lamp/attrs", json={"on": {"value": False}}, headers=headers)
        receiver.wait(3)
        time.sleep(0.3)  # the throttled one must not follow
        sent = sorted((body["subscriptionId"], str(body["data"])) for _, body in receiver.received)
        whole = str([{"id": "Lamp", "type": "Lamp", "on": True, "watts": 9}])
        assert sent == sorted(
            [
                (slow, whole),
                (changed, whole),
                (changed, str([{"id": "Lamp", "type": "Lamp", "on": False}])),
            ]
        )
        shown = broker.get(f"/v2/subscriptions/{gone}", headers=headers).json()
        assert shown["status"] == "expired"
        listed = broker.get("/v2/subscriptions?options=count", headers=headers)
        assert listed.headers["Fiware-Total-Count"] == "3"
        assert all(not k.startswith("_") for s in listed.json() for k in s)
    finally:
        receiver.thread.stop()
