"""The gateway over an NGSI-LD broker (the test broker over loopback HTTP): OGC API –
Features items with CQL2 filters, bbox, paging and numberMatched, a mapping that reads
`NO2.value` and friends, and the broker's errors as 502.

Differential: every filter of the corpus answers the same whether the connector pushes it
to the broker as q (`filter: auto`) or the gateway evaluates it (`filter: off`), and the
pushable ones did go to the broker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box, shape
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from gateway.metrics import DATA_QUALITY
from gateway.query.cql2 import parse
from gateway.query.evaluate import compile_predicate
from tests.conformance.conftest import LoopThread, explain, run_suite
from tests.connectors.test_ngsi_ld import COUNT, LINK, TYPE, entities, load
from tests.ngsi.ldbroker import Broker, ld_broker

pytestmark = pytest.mark.integration
# Without a profile the collection serves the source's own fields, named by path
NAMES = {
    "name": '"name.value"',
    "no2_unit": '"NO2.unitCode"',
    "no2": '"NO2.value"',
    "observed": '"NO2.observedAt"',
    "pm10": '"PM10.value"',
    "status": '"status.value"',
    "street": '"address.value.streetAddress"',
    "device": '"refDevice.object"',
}


def cql(text: str) -> str:
    """A filter written with short names, in the source's path names."""
    return re.sub(r"\b(" + "|".join(NAMES) + r")\b(?![\w'])", lambda m: NAMES[m[1]], text)


PUSHED = [
    "no2 > 30",
    "no2 <= 12.5 AND status = 'active'",
    "status IN ('active', 'off')",
    "pm10 BETWEEN 20 AND 40",
    "pm10 IS NULL",
    "pm10 IS NOT NULL AND no2 < 20",
    "name LIKE 'Syd%'",
    "street LIKE 'Gade 1%'",
    "device = 'urn:ngsi-ld:Device:3' OR no2 > 55",
    "no2_unit <> 'GQ'",
    "observed > '2026-12-03T00:00:00Z'",
    "status = 'active' AND (no2 > 40 OR pm10 < 20)",
    "status = 'it''s \"quoted\"' OR name = 'Nord 1'",
]
RESIDUAL = [
    "name LIKE '%1_'",
    "NOT (status = 'active')",
    "S_INTERSECTS(geometry, BBOX(10.15, 56.12, 10.2, 56.18))",
    "CASEI(status) = casei('ACTIVE')",
]


# Entities whose values have types the others' do not (after the first 100, which the
# connector samples for its fields), in a tenant of their own: served, never a crash. (q
# pushdown is exact for values of a field's type only: at a broker `NO2>30` matches the list
# [31, 45] and `unitCode!="GQ"` the number 7, where the gateway selects neither.)
ODD = [
    {
        "id": f"urn:ngsi-ld:{TYPE}:odd-1",
        "type": TYPE,
        "NO2": {"type": "Property", "value": "n/a", "unitCode": 7},
        "name": {"type": "Property", "value": {"nested": [1, 2]}},
        "status": {"type": "Property", "value": 3},
    },
    {
        "id": f"urn:ngsi-ld:{TYPE}:odd-2",
        "type": TYPE,
        "NO2": {"type": "Property", "value": [31, 45]},
        "PM10": {"type": "Property", "value": True},
        "address": {"type": "Property", "value": "just text"},
        "refDevice": {"type": "Relationship", "object": ["urn:ngsi-ld:Device:3"]},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "LineString", "coordinates": [[10.1, 56.1], [10.3, 56.2]]},
        },
    },
]


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with ld_broker() as running:
        load(running)
        load(running, "odd")
        answer = httpx.post(
            f"{running.url}/ngsi-ld/v1/entityOperations/create",
            json=ODD,
            headers={**LINK, "NGSILD-Tenant": "odd"},
        )
        assert answer.status_code == 201, answer.text
        yield running


@pytest.fixture(scope="module")
def client(broker: Broker) -> Iterator[TestClient]:
    def source(**more: Any) -> dict[str, Any]:
        return {"connector": "ngsi-ld", "url": broker.url, "type": TYPE, "tenant": "aarhus", **more}

    def tenant(src: dict[str, Any]) -> dict[str, Any]:
        return {"collections": {"air": {"source": src}}}

    tenants = {
        "push": tenant(source(page_size=25)),
        "residual": tenant(source(filter="off")),
        "greedy": tenant(source(page_size=5000)),
        "odd": tenant(source(tenant="odd")),
    }
    server = {"max_limit": 10000, "default_limit": 10}
    loaded = parse_config({"server": server, "tenants": tenants}, "ngsild.yaml", Path("."))
    with TestClient(create_app(loaded)) as c:
        yield c


def items(client: TestClient, tenant: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/{tenant}/collections/air/items", params=params)
    assert answer.status_code == 200, (tenant, params, answer.text)
    return answer.json()


def ids(doc: dict[str, Any]) -> list[str]:
    return sorted(str(f["id"]) for f in doc["features"])


@pytest.mark.parametrize("text", PUSHED + RESIDUAL)
def test_filters_answer_alike_pushed_or_evaluated(client: TestClient, broker: Broker, text: str):
    before = len(broker.requests)
    pushed = items(client, "push", filter=cql(text), limit=10000)
    sent = [q.get("q") for q in broker.queries()[before:]]
    evaluated = items(client, "residual", filter=cql(text), limit=10000)
    assert ids(pushed) == ids(evaluated)
    assert 0 < len(pushed["features"]) < COUNT, "the corpus should select some, not all"
    if text in PUSHED:
        assert any(sent), f"{text!r} was not pushed down"
    else:
        assert not any(sent), f"{text!r} has no exact q, yet q was sent: {sent}"


def test_items_carry_the_normalized_attributes_by_path(client: TestClient):
    doc = items(client, "push", limit=1)
    feature = doc["features"][0]
    first = entities()[0]
    assert feature["id"] == first["id"]
    assert feature["geometry"] == first["location"]["value"]
    props = feature["properties"]
    assert props["NO2.value"] == first["NO2"]["value"]
    assert props["NO2.unitCode"] == "59"  # every 11th station, from 0
    assert props["address.value.streetAddress"] == "Gade 0"
    assert props["refDevice.object"] == "urn:ngsi-ld:Device:0"
    queryables = client.get("/push/collections/air/queryables").json()["properties"]
    assert {"NO2.value", "NO2.observedAt", "refDevice.object"} <= set(queryables)


def test_values_of_unexpected_types_are_served(client: TestClient):
    doc = items(client, "odd", filter=cql("name = 'Nord 1' OR pm10 = 80"), limit=100)
    assert f"urn:ngsi-ld:{TYPE}:aarhus-001" in ids(doc)

    def counted(field: str) -> float:
        return DATA_QUALITY.labels("odd/air", field, "type")._value.get()

    before = {f: counted(f) for f in ("NO2.value", "PM10.value", "refDevice.object")}
    odd = client.get(f"/odd/collections/air/items/urn:ngsi-ld:{TYPE}:odd-2")
    assert odd.status_code == 200, odd.text
    assert odd.json()["geometry"]["type"] == "LineString"
    props = odd.json()["properties"]
    # left out for their type: a list among numbers, a boolean among integers, a list of
    # URIs among strings; served as it is: a text where an object's leaves were
    assert not {"NO2.value", "PM10.value", "refDevice.object"} & set(props)
    assert props["address.value"] == "just text"
    assert {f: counted(f) - n for f, n in before.items()} == dict.fromkeys(before, 1.0)
    last = items(client, "odd", offset=COUNT, limit=10)
    assert [f["id"] for f in last["features"]] == [e["id"] for e in ODD]


def test_paging_through_next_links_reads_every_entity_once(client: TestClient):
    seen: list[str] = []
    url: str | None = "/push/collections/air/items?limit=17"
    matched = None
    while url:
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        matched = doc.get("numberMatched", matched)
        seen += [f["id"] for f in doc["features"]]
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == COUNT
    assert matched in (None, COUNT)


def test_number_matched_is_the_brokers_count(client: TestClient):
    doc = items(client, "push", filter=cql("no2 > 30"), limit=5)
    expected = sum(1 for e in entities() if e["NO2"]["value"] > 30)
    assert doc["numberMatched"] == expected
    assert len(doc["features"]) == 5


def test_bbox_selects_what_intersects_it(client: TestClient):
    area = (10.12, 56.11, 10.22, 56.16)
    doc = items(client, "push", bbox=",".join(map(str, area)), limit=10000)
    expected = sorted(
        e["id"] for e in entities() if box(*area).intersects(shape(e["location"]["value"]))
    )
    assert ids(doc) == expected and expected


def test_a_broker_error_is_a_502_naming_the_source(client: TestClient, caplog):
    with caplog.at_level(logging.WARNING):
        answer = client.get("/greedy/collections/air/items", params={"limit": 2000})
    assert answer.status_code == 502
    assert "greedy/air" in answer.text
    assert "TooManyResults" in caplog.text
    assert "TooManyResults" in answer.json()["description"]  # the broker's own words
    assert "127.0.0.1" not in answer.text  # but not where it lives


# --- generated filters: pushed, evaluated and the reference evaluation agree -----------

NUMBERS = {"no2": st.sampled_from([5, 12.5, 20, 30.1, 44.4, 60]), "pm10": st.integers(5, 85)}
STRINGS = {
    "status": st.sampled_from(["active", "maintenance", "off", "x"]),
    "name": st.sampled_from(["Nord 1", "Syd 3", "Nord 100", "Syd"]),
    "no2_unit": st.sampled_from(["GQ", "59"]),
    "device": st.sampled_from([f"urn:ngsi-ld:Device:{n}" for n in (0, 3, 9, 11)]),
    "observed": st.sampled_from(["2026-12-02T00:00:00Z", "2026-12-04T12:00:00Z"]),
}


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def predicates(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["number", "string", "in", "between", "null", "like"]))
    op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="]))
    if kind == "number":
        name = draw(st.sampled_from(sorted(NUMBERS)))
        return f"{name} {op} {draw(NUMBERS[name])}"
    if kind == "string":
        name = draw(st.sampled_from(sorted(STRINGS)))
        return f"{name} {op} {quoted(draw(STRINGS[name]))}"
    if kind == "in":
        chosen = draw(st.lists(STRINGS["status"], min_size=1, max_size=3, unique=True))
        return f"status IN ({', '.join(map(quoted, chosen))})"
    if kind == "between":
        low = draw(st.integers(5, 60))
        return f"pm10 BETWEEN {low} AND {low + draw(st.integers(0, 30))}"
    if kind == "null":
        return f"pm10 IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    pattern = draw(st.sampled_from(["Nord%", "Syd 1%", "N_rd 2%", "%1", "%ord%", "Gade 1_"]))
    return f"{draw(st.sampled_from(['name', 'street']))} LIKE {quoted(pattern)}"


@st.composite
def filters(draw: st.DrawFn) -> str:
    terms = draw(st.lists(predicates(), min_size=1, max_size=3))
    text = draw(st.sampled_from([" AND ", " OR "])).join(f"({t})" for t in terms)
    return f"NOT ({text})" if draw(st.booleans()) and len(terms) == 1 else text


@pytest.fixture(scope="module")
def reference(client: TestClient) -> list[dict[str, Any]]:
    return items(client, "residual", limit=10000)["features"]


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=filters())
def test_generated_filters_answer_as_the_reference_evaluation(client, reference, text):
    source = cql(text)
    test = compile_predicate(parse(source, "cql2-text"))
    expected = sorted(str(f["id"]) for f in reference if test(f))
    for tenant in ("push", "residual"):
        doc = items(client, tenant, filter=source, limit=10000)
        assert ids(doc) == expected, (tenant, source)
        if "numberMatched" in doc:
            assert doc["numberMatched"] == len(expected), (tenant, source)


def test_the_features_conformance_suite_passes_over_the_broker(broker: Broker):
    """Every check the suite runs passes on a collection over NGSI-LD (the observation time,
    `NO2.observedAt`, as its temporal property)."""
    source = {"connector": "ngsi-ld", "url": broker.url, "type": TYPE, "tenant": "aarhus"}
    collection = {"source": source, "temporal_property": "NO2.observedAt"}
    tenants = {"aarhus": {"collections": {"air": collection}}}
    loaded = parse_config({"tenants": tenants}, "ngsild.yaml", Path("."))
    app = create_app(loaded)
    loop = LoopThread()
    lifespan = app.router.lifespan_context(app)
    loop.run(lifespan.__aenter__())
    try:
        report = run_suite(loop, app, "http://testserver/aarhus/")
    finally:
        loop.run(lifespan.__aexit__(None, None, None))
        loop.close()
    counts = report.summary()
    assert counts["fail"] == 0 and counts["error"] == 0, explain(report)
    assert counts["pass"] >= 80
