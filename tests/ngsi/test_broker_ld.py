"""The NGSI-LD test broker over loopback HTTP: what the specification (ETSI GS CIM 009 1.6+)
states and connectors rely on: paging limits and counts, tenants, @context handling,
representations, partial updates, ProblemDetails, and the temporal API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.demo.ngsibroker.ld import create_ld_app
from gateway.demo.ngsibroker.ldcontext import DEFAULT_VOCAB
from gateway.demo.ngsibroker.ldstore import LdStore
from tests.ngsi.ldbroker import ld_broker, serve_app

pytestmark = pytest.mark.integration
SDM = "https://smartdatamodels.org/context.jsonld"
REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
LINK = {"Link": f"<{SDM}>; {REL}"}
ERR = "https://uri.etsi.org/ngsi-ld/errors/"


def station(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:AirQualityObserved:{n}",
        "type": "AirQualityObserved",
        "NO2": {"type": "Property", "value": 10 + n, "unitCode": "GQ",
                "observedAt": f"2026-12-01T06:{n % 60:02d}:00Z"},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [10.2 + n / 100, 56.15]}},
        **extra,
    }  # fmt: skip


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with ld_broker() as broker, httpx.Client(base_url=f"{broker.url}/ngsi-ld/v1") as c:
        answer = c.post(
            "/entityOperations/upsert", json=[station(n) for n in range(30)], headers=LINK
        )
        assert answer.status_code == 201, answer.text
        yield c


def problem(answer: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["type"] == ERR + kind
    assert body["status"] == status and body["title"] and body["detail"]
    assert answer.headers["content-type"].startswith("application/json")
    return body


def test_paging_defaults_to_20_and_counts_on_request(client: httpx.Client):
    page = client.get("/entities", params={"type": "AirQualityObserved"}, headers=LINK)
    assert len(page.json()) == 20 and "NGSILD-Results-Count" not in page.headers
    rest = client.get(
        "/entities",
        params={"type": "AirQualityObserved", "offset": 20, "limit": 50, "count": "true"},
        headers=LINK,
    )
    assert [e["id"] for e in rest.json()] == [
        f"urn:ngsi-ld:AirQualityObserved:{n}" for n in range(20, 30)
    ]
    assert rest.headers["NGSILD-Results-Count"] == "30"
    only = client.get(
        "/entities",
        params={"type": "AirQualityObserved", "limit": 0, "count": "true"},
        headers=LINK,
    )
    assert only.json() == [] and only.headers["NGSILD-Results-Count"] == "30"


def test_limits_beyond_the_maximum_and_zero_without_count_are_refused(client: httpx.Client):
    problem(client.get("/entities", params={"type": "X", "limit": 1001}), 403, "TooManyResults")
    problem(client.get("/entities", params={"type": "X", "limit": 0}), 400, "BadRequestData")
    problem(client.get("/entities", params={"type": "X", "limit": "-1"}), 400, "BadRequestData")
    problem(client.get("/entities"), 400, "BadRequestData")  # no type, q, attrs … at all


def test_unknown_tenants_are_404_and_tenants_are_isolated(client: httpx.Client):
    params = {"type": "AirQualityObserved"}
    problem(
        client.get("/entities", params=params, headers={"NGSILD-Tenant": "nowhere"}),
        404,
        "NonexistentTenant",
    )
    created = client.post(
        "/entities", json=station(99), headers={**LINK, "NGSILD-Tenant": "aarhus"}
    )
    assert created.status_code == 201
    assert created.headers["Location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:99"
    there = client.get("/entities", params=params, headers={**LINK, "NGSILD-Tenant": "aarhus"})
    assert [e["id"] for e in there.json()] == ["urn:ngsi-ld:AirQualityObserved:99"]
    problem(
        client.get("/entities/urn:ngsi-ld:AirQualityObserved:99", headers=LINK),
        404,
        "ResourceNotFound",
    )


def test_short_names_expand_with_the_requests_context(client: httpx.Client):
    # Without the SDM context, AirQualityObserved is another IRI (the default vocabulary)
    core = client.get("/entities", params={"type": "AirQualityObserved"})
    assert core.json() == []
    assert DEFAULT_VOCAB in core.headers["Link"] or "core-context" in core.headers["Link"]
    full = client.get(
        "/entities",
        params={
            "type": "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved",
            "limit": 1,
        },
    )
    assert (
        full.json()[0]["type"]
        == "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
    )
    assert "https://smartdatamodels.org/dataModel.Environment/NO2" in full.json()[0]
    # an ld+json body brings its own context; a Link header beside it is an error (in a
    # tenant of its own: the other tests count the default tenant's entities)
    body = {**station(50), "@context": SDM}
    headers = {"Content-Type": "application/ld+json", "NGSILD-Tenant": "contexts"}
    assert client.post("/entities", content=json.dumps(body), headers=headers).status_code == 201
    problem(
        client.post("/entities", content=json.dumps(body), headers={**headers, **LINK}),
        400,
        "BadRequestData",
    )
    # an inline context object defines its own terms
    inline = {
        **station(51),
        "@context": {
            "AirQualityObserved": "https://example.org/AQ",
            "NO2": "https://example.org/no2",
        },
    }
    assert client.post("/entities", content=json.dumps(inline), headers=headers).status_code == 201
    found = client.get(
        "/entities",
        params={"type": "https://example.org/AQ"},
        headers={"NGSILD-Tenant": "contexts"},
    )
    assert [e["id"] for e in found.json()] == ["urn:ngsi-ld:AirQualityObserved:51"]
    sdm = {**LINK, "NGSILD-Tenant": "contexts"}
    assert [
        e["id"]
        for e in client.get("/entities", params={"type": "AirQualityObserved"}, headers=sdm).json()
    ] == ["urn:ngsi-ld:AirQualityObserved:50"]
    assert "https://example.org/no2" in found.json()[0]


def test_ld_json_answers_carry_the_context_in_the_body(client: httpx.Client):
    one = client.get(
        "/entities/urn:ngsi-ld:AirQualityObserved:1",
        headers={**LINK, "Accept": "application/ld+json"},
    )
    assert one.headers["content-type"].startswith("application/ld+json")
    assert one.json()["@context"] == SDM and "Link" not in one.headers
    plain = client.get("/entities/urn:ngsi-ld:AirQualityObserved:1", headers=LINK)
    assert "@context" not in plain.json() and SDM in plain.headers["Link"]


def test_representations_attrs_and_system_attributes(client: httpx.Client):
    url = "/entities/urn:ngsi-ld:AirQualityObserved:3"
    normalized = client.get(url, headers=LINK).json()
    assert normalized["NO2"] == {
        "type": "Property",
        "value": 13,
        "unitCode": "GQ",
        "observedAt": "2026-12-01T06:03:00Z",
    }
    assert client.get(url, params={"options": "keyValues"}, headers=LINK).json()["NO2"] == 13
    concise = client.get(url, params={"format": "concise"}, headers=LINK).json()
    assert concise["NO2"] == {"value": 13, "unitCode": "GQ", "observedAt": "2026-12-01T06:03:00Z"}
    assert concise["location"] == {"type": "Point", "coordinates": [10.2 + 3 / 100, 56.15]}
    picked = client.get(url, params={"attrs": "NO2"}, headers=LINK).json()
    assert set(picked) == {"id", "type", "NO2"}
    system = client.get(url, params={"options": "sysAttrs"}, headers=LINK).json()
    assert system["createdAt"].endswith("Z") and "modifiedAt" in system["NO2"]
    problem(client.get(url, params={"options": "pretty"}), 400, "BadRequestData")


def test_writes_answer_as_the_specification_says(client: httpx.Client):
    problem(client.post("/entities", json=station(1), headers=LINK), 409, "AlreadyExists")
    problem(client.post("/entities", json={"id": "no-uri", "type": "T"}), 400, "BadRequestData")
    problem(
        client.post("/entities", json={**station(60), "NO2": {"type": "Property"}}),
        400,
        "BadRequestData",
    )
    problem(
        client.post("/entities", content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "InvalidRequest",
    )
    problem(
        client.post("/entities", content=b"{}", headers={"Content-Type": "text/plain"}),
        415,
        "InvalidRequest",
    )
    url = "/entities/urn:ngsi-ld:AirQualityObserved:4/attrs"
    partial = client.patch(
        url,
        json={"NO2": {"type": "Property", "value": 1}, "PM10": {"type": "Property", "value": 2}},
        headers=LINK,
    )
    assert partial.status_code == 207
    assert partial.json()["notUpdated"][0]["attributeName"] == "PM10"
    assert (
        client.post(url, json={"PM10": {"type": "Property", "value": 2}}, headers=LINK).status_code
        == 204
    )
    got = client.get(
        "/entities/urn:ngsi-ld:AirQualityObserved:4", params={"options": "keyValues"}, headers=LINK
    ).json()
    assert (got["NO2"], got["PM10"]) == (1, 2)
    mixed = client.post("/entityOperations/create", json=[station(4), station(61)], headers=LINK)
    assert mixed.status_code == 207
    assert mixed.json()["success"] == ["urn:ngsi-ld:AirQualityObserved:61"]
    assert mixed.json()["errors"][0]["error"]["type"] == ERR + "AlreadyExists"
    assert client.delete("/entities/urn:ngsi-ld:AirQualityObserved:61").status_code == 204
    problem(client.delete("/entities/urn:ngsi-ld:AirQualityObserved:61"), 404, "ResourceNotFound")


def test_q_and_geo_queries_select_and_malformed_ones_are_400(client: httpx.Client):
    def ids(**params: Any) -> list[int]:
        answer = client.get(
            "/entities",
            params={"type": "AirQualityObserved", "limit": 1000, **params},
            headers=LINK,
        )
        assert answer.status_code == 200, answer.text
        return sorted(int(e["id"].rsplit(":", 1)[1]) for e in answer.json())

    assert ids(q="NO2>35;NO2<50") == [26, 27, 28, 29]  # (9 is raised to 70 below)
    assert ids(q='NO2==11,12|NO2.unitCode=="XX"') == [1, 2]
    box = [[[10.2, 56.1], [10.225, 56.1], [10.225, 56.2], [10.2, 56.2], [10.2, 56.1]]]
    assert ids(
        georel="intersects", geometry="Polygon", coordinates=json.dumps(box), q="NO2<40"
    ) == [0, 1, 2]
    # 0.01° of longitude at 56.15° N is about 620 m
    assert ids(georel="near;maxDistance==700", geometry="Point", coordinates="[10.2,56.15]") == [
        0,
        1,
    ]
    problem(
        client.get("/entities", params={"type": "AirQualityObserved", "q": "NO2>>1"}),
        400,
        "BadRequestData",
    )
    problem(
        client.get(
            "/entities",
            params={
                "type": "A",
                "georel": "near;maxDistance:10",
                "geometry": "Point",
                "coordinates": "[1,2]",
            },
        ),
        400,
        "BadRequestData",
    )
    problem(
        client.get("/entities", params={"type": "A", "georel": "within", "geometry": "Polygon"}),
        400,
        "BadRequestData",
    )


def test_types_list_the_entity_types_in_the_context(client: httpx.Client):
    types = client.get("/types", headers=LINK).json()
    assert types["type"] == "EntityTypeList" and "AirQualityObserved" in types["typeList"]


def test_the_temporal_api_keeps_observed_values(client: httpx.Client):
    url = "/entities/urn:ngsi-ld:AirQualityObserved:7/attrs"
    for hour, value in ((8, 30), (9, 31), (10, 32)):
        update = {
            "NO2": {
                "type": "Property",
                "value": value,
                "observedAt": f"2026-12-01T{hour:02d}:00:00Z",
            }
        }
        assert client.patch(url, json=update, headers=LINK).status_code == 204
    one = "/temporal/entities/urn:ngsi-ld:AirQualityObserved:7"
    history = client.get(one, headers=LINK).json()["NO2"]
    assert [i["value"] for i in history] == [17, 30, 31, 32]
    after = client.get(
        one, params={"timerel": "after", "timeAt": "2026-12-01T08:00:00Z"}, headers=LINK
    ).json()
    assert [i["value"] for i in after["NO2"]] == [31, 32]
    between = client.get(
        one,
        params={
            "timerel": "between",
            "timeAt": "2026-12-01T06:00:00Z",
            "endTimeAt": "2026-12-01T09:00:00Z",
            "options": "temporalValues",
        },
        headers=LINK,
    ).json()
    assert between["NO2"] == {
        "type": "Property",
        "values": [[17, "2026-12-01T06:07:00Z"], [30, "2026-12-01T08:00:00Z"]],
    }
    last = client.get(one, params={"lastN": 2}, headers=LINK).json()
    assert [i["value"] for i in last["NO2"]] == [31, 32]
    listed = client.get(
        "/temporal/entities",
        params={
            "type": "AirQualityObserved",
            "q": "NO2>=32",
            "timerel": "before",
            "timeAt": "2026-12-01T09:30:00Z",
            "count": "true",
            "limit": 1000,
        },
        headers=LINK,
    )
    assert listed.headers["NGSILD-Results-Count"] == str(len(listed.json()))
    seven = next(e for e in listed.json() if e["id"].endswith(":7"))
    assert [i["value"] for i in seven["NO2"]] == [17, 30, 31]
    problem(client.get(one, params={"timerel": "after"}), 400, "BadRequestData")
    problem(
        client.get(one, params={"timerel": "between", "timeAt": "2026-12-01T07:00:00Z"}),
        400,
        "BadRequestData",
    )
    problem(
        client.get(one, params={"timerel": "during", "timeAt": "2026-12-01T07:00:00Z"}),
        400,
        "BadRequestData",
    )


def test_subscriptions_notify_on_watched_changes_that_q_selects(client: httpx.Client):
    seen: list[dict[str, Any]] = []

    async def notify(request: Request) -> Response:
        seen.append({"headers": dict(request.headers), "body": json.loads(await request.body())})
        return Response(status_code=204)

    receiver = Starlette(routes=[Route("/n", notify, methods=["POST"])])
    url = "/entities/urn:ngsi-ld:AirQualityObserved:9/attrs"
    with serve_app(receiver) as base:
        sub = {
            "type": "Subscription",
            "entities": [{"type": "AirQualityObserved", "idPattern": ":9$"}],
            "watchedAttributes": ["NO2"],
            "q": "NO2>50",
            "notification": {
                "format": "keyValues",
                "attributes": ["NO2"],
                "endpoint": {"uri": f"{base}/n", "receiverInfo": [{"key": "X-Key", "value": "k"}]},
            },
        }
        created = client.post("/subscriptions", json=sub, headers=LINK)
        assert created.status_code == 201
        location = created.headers["Location"].removeprefix("/ngsi-ld/v1")
        for change in ({"PM10": 5}, {"NO2": 40}, {"NO2": 60}):
            attrs = {k: {"type": "Property", "value": v} for k, v in change.items()}
            assert client.post(url, json=attrs, headers=LINK).status_code == 204
        _wait_for(seen, 1)
        assert client.patch(location, json={"isActive": False}, headers=LINK).status_code == 204
        assert (
            client.post(
                url, json={"NO2": {"type": "Property", "value": 70}}, headers=LINK
            ).status_code
            == 204
        )
        time.sleep(0.3)
        status = client.get(location, headers=LINK).json()
        assert client.delete(location).status_code == 204
        problem(client.get(location), 404, "ResourceNotFound")
    assert len(seen) == 1
    body = seen[0]["body"]
    assert body["data"] == [
        {"id": "urn:ngsi-ld:AirQualityObserved:9", "type": "AirQualityObserved", "NO2": 60}
    ]
    assert seen[0]["headers"]["x-key"] == "k"
    assert status["notification"]["timesSent"] == 1 and status["isActive"] is False
    problem(
        client.post(
            "/subscriptions",
            json={
                "type": "Subscription",
                "entities": [{"type": "X"}],
                "notification": {"endpoint": {"uri": "ftp://x"}},
            },
        ),
        400,
        "BadRequestData",
    )


def _wait_for(seen: list[Any], count: int) -> None:
    deadline = time.monotonic() + 5
    while len(seen) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_an_ld_only_broker_keeps_the_store_it_is_given():
    store = LdStore()
    with serve_app(create_ld_app(store)) as base:
        created = httpx.post(f"{base}/ngsi-ld/v1/entities", json=station(1), headers=LINK)
        assert created.status_code == 201
        assert httpx.get(f"{base}/v2/entities").status_code == 400  # no v2 API there
        problem(httpx.get(f"{base}/ngsi-ld/v1/nothing"), 404, "ResourceNotFound")
    assert "urn:ngsi-ld:AirQualityObserved:1" in store.tenants[""].entities


def test_geojson_answers_put_the_geoproperty_in_geometry(client: httpx.Client):
    accept = {**LINK, "Accept": "application/geo+json"}
    params = {"type": "AirQualityObserved", "limit": 2, "options": "keyValues", "count": "true"}
    listed = client.get("/entities", params=params, headers=accept)
    assert listed.headers["content-type"].startswith("application/geo+json")
    assert SDM in listed.headers["Link"] and listed.headers["NGSILD-Results-Count"]
    doc = listed.json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 2
    first = doc["features"][0]
    assert first["type"] == "Feature" and first["id"] == "urn:ngsi-ld:AirQualityObserved:0"
    assert first["geometry"] == {"type": "Point", "coordinates": [10.2, 56.15]}
    assert first["properties"]["type"] == "AirQualityObserved" and "NO2" in first["properties"]
    one = client.get("/entities/urn:ngsi-ld:AirQualityObserved:0", headers=accept).json()
    assert one["type"] == "Feature" and one["geometry"]["type"] == "Point"
    none = client.get(
        "/entities/urn:ngsi-ld:AirQualityObserved:0",
        params={"geometryProperty": "elsewhere"},
        headers=accept,
    ).json()
    assert none["geometry"] is None
