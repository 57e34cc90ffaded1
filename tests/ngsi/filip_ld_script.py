"""FiLiP's ContextBrokerLDClient against the NGSI-LD test broker (run in FiLiP's own venv,
see scripts/setup-filip.sh): `python filip_ld_script.py BROKER_URL RECEIVER_URL`.

Each step uses FiLiP's public API as an application would; the script prints one JSON
document of what FiLiP got back, which tests/ngsi/test_broker_ld_filip.py checks. Any
exception (FiLiP raises on every error answer or unparsable body) fails the run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import requests
from filip.clients.ngsi_ld.cb import ContextBrokerLDClient
from filip.models.base import FiwareLDHeader
from filip.models.ngsi_ld.context import (
    ActionTypeLD,
    ContextLDEntity,
    ContextProperty,
)
from filip.models.ngsi_ld.subscriptions import (
    Endpoint,
    EntityInfo,
    KeyValuePair,
    NotificationParams,
    SubscriptionLD,
)

SDM = "https://smartdatamodels.org/context.jsonld"


def station(n: int, lon: float, lat: float, no2: float) -> ContextLDEntity:
    return ContextLDEntity(
        id=f"urn:ngsi-ld:AirQualityObserved:aarhus-{n:03d}",
        type="AirQualityObserved",
        NO2={"type": "Property", "value": no2, "unitCode": "GQ",
             "observedAt": "2026-12-01T10:00:00Z"},
        name={"type": "Property", "value": f"Station {n}"},
        location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
    )  # fmt: skip


def main(url: str, receiver: str) -> None:
    header = FiwareLDHeader(ngsild_tenant="aarhus")
    header.set_context(SDM)
    client = ContextBrokerLDClient(url=url, fiware_header=header, pagination_limit=7)
    out: dict[str, object] = {}

    # create: one by one, then a batch upsert of the rest
    client.post_entity(station(0, 10.20, 56.15, 12.0))
    more = [station(n, 10.1 + n * 0.01, 56.1 + n * 0.005, 5.0 + n) for n in range(1, 25)]
    client.entity_batch_operation(entities=more, action_type=ActionTypeLD.UPSERT)

    # queries: all (paged by FiLiP in pages of 7 with count=true), q, a geo-query
    everything = client.get_entity_list(entity_type="AirQualityObserved", limit=1000)
    out["all"] = sorted(e.id for e in everything)
    high = client.get_entity_list(entity_type="AirQualityObserved", q="NO2>20;NO2<=25")
    out["q"] = sorted(e.id for e in high)
    named = client.get_entity_list(entity_type="AirQualityObserved", q='name=="Station 3"')
    out["q_string"] = [e.id for e in named]
    either = client.get_entity_list(
        entity_type="AirQualityObserved", q='(NO2<7|NO2>28);name~="Station"'
    )
    out["q_or"] = sorted(e.id for e in either)
    near = client.get_entity_list(
        entity_type="AirQualityObserved",
        georel="near;maxDistance==2000",
        geometry="Point",
        coordinates="[10.20,56.15]",
    )
    out["near"] = sorted(e.id for e in near)
    box = client.get_entity_list(
        entity_type="AirQualityObserved",
        georel="within",
        geometry="Polygon",
        coordinates="[[[10.09,56.09],[10.135,56.09],[10.135,56.2],[10.09,56.2],[10.09,56.09]]]",
    )
    out["within"] = sorted(e.id for e in box)
    out["limited"] = len(client.get_entity_list(entity_type="AirQualityObserved", limit=10))

    # subscription (the broker notifies the receiver), then updates that trigger it
    sub = SubscriptionLD(
        entities=[EntityInfo(type="AirQualityObserved")],
        watchedAttributes=["NO2"],
        notification=NotificationParams(
            attributes=["NO2"],
            endpoint=Endpoint(
                uri=receiver,
                accept="application/json",
                receiverInfo=[KeyValuePair(key="X-Secret", value="s3cret")],
            ),
        ),
    )
    out["subscription"] = client.post_subscription(sub)
    out["subscriptions"] = [s.id for s in client.get_subscription_list()]

    client.update_entity_attribute(
        "urn:ngsi-ld:AirQualityObserved:aarhus-000",
        ContextProperty(value=41.5),
        attr_name="NO2",
    )
    patched = station(1, 10.11, 56.105, 33.0)
    client.replace_existing_attributes_of_entity(patched)
    client.append_entity_attributes(
        ContextLDEntity(
            id="urn:ngsi-ld:AirQualityObserved:aarhus-002",
            type="AirQualityObserved",
            reliability={"type": "Property", "value": 0.9},
        )
    )
    got = client.get_entity("urn:ngsi-ld:AirQualityObserved:aarhus-000")
    out["updated"] = got.model_dump(exclude_none=True).get("NO2", {}).get("value")
    kv = client.get_entity("urn:ngsi-ld:AirQualityObserved:aarhus-002", options="keyValues")
    out["appended"] = kv.model_dump().get("reliability")

    # delete one, and a batch delete
    client.delete_entity_by_id("urn:ngsi-ld:AirQualityObserved:aarhus-024")
    client.entity_batch_operation(entities=more[20:23], action_type=ActionTypeLD.DELETE)
    out["left"] = len(client.get_entity_list(entity_type="AirQualityObserved", limit=1000))

    # the answers TwinBridge's ngsi-ld connector judges: 409 on a second create, 404 for a
    # missing entity; a PATCH skips an attribute the entity lacks
    again = lambda: client.post_entity(station(0, 10.2, 56.15, 1.0))  # noqa: E731
    out["conflict"] = refused(again, 409)
    gone = "urn:ngsi-ld:AirQualityObserved:aarhus-024"
    out["delete_missing"] = refused(lambda: client.delete_entity_by_id(gone), 404)
    ghost = ContextLDEntity(
        id=gone, type="AirQualityObserved", NO2={"type": "Property", "value": 1.0}
    )
    out["append_missing"] = refused(lambda: client.append_entity_attributes(ghost), 404)
    lacking = ContextLDEntity(
        id="urn:ngsi-ld:AirQualityObserved:aarhus-003",
        type="AirQualityObserved",
        pressure={"type": "Property", "value": 1013},
    )
    client.replace_existing_attributes_of_entity(lacking)  # a 207: FiLiP takes it as done
    kept = client.get_entity("urn:ngsi-ld:AirQualityObserved:aarhus-003", options="keyValues")
    out["patch_missing"] = "pressure" in kept.model_dump()
    print(json.dumps(out))


def refused(call: Callable[[], object], status: int) -> object:
    """The ProblemDetails of a call that FiLiP raises on with `status`."""
    try:
        call()
    except requests.RequestException as e:
        assert e.response is not None and e.response.status_code == status, e.response
        return e.response.json()
    raise AssertionError(f"no {status}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
