"""SensorThings create, update, delete: what a server must refuse (ETS sta10 level 2:
createInvalidEntities, createInvalidEntitiesWithDeepInsert, invalidPatchEntities,
deleteNoneexistentEntities). Only with --allow-writes; whatever a faulty server creates
anyway is deleted at the end of the run."""

from __future__ import annotations

import uuid
from typing import Any

from conformance.context import Problems, Test, expect
from conformance.model import Blocked
from conformance.registry import SENSORTHINGS, check
from conformance.sensorthings import api
from conformance.sensorthings.cud import NEEDS, SENSOR, allowed, fixture
from conformance.sensorthings.names import CUD, req

CREATE_INVALID = req(
    CUD,
    "create-update-delete/create-entity",
    "An entity without its mandatory relations (a Datastream without Sensor, an Observation "
    "without Datastream) SHALL NOT be created: 400 or 409",
)
DEEP_INVALID = req(
    CUD,
    "create-update-delete/deep-insert",
    "A deep insert with an invalid part SHALL fail as a whole: 400 or 409 and nothing created",
)
UPDATE_INVALID = req(
    CUD,
    "create-update-delete/update-entity",
    "PATCH SHALL NOT create related entities given inline: 400",
)
DELETE_MISSING = req(
    CUD, "create-update-delete/delete-entity", "DELETE of an entity that does not exist: 404"
)
REFUSED = (400, 409)


def _stream(tag: str, **relations: Any) -> dict[str, Any]:
    return {
        "name": f"conformance invalid datastream {tag}",
        "description": "must not be created",
        "observationType": SENSOR,
        "unitOfMeasurement": {"name": "metre", "symbol": "m", "definition": "ucum:m"},
        **relations,
    }


async def _refused(t: Test, set_name: str, body: dict[str, Any], why: str, found: Problems) -> None:
    got = await t.request("POST", api.set_url(t, set_name), json=body)
    if got.status == 201 and got.headers.get("location"):
        location = got.headers["location"]
        t.ctx.cleanups.append(lambda: t.ctx.session.fetch("DELETE", location))
    found.check(got.status in REFUSED, f"POST {set_name} {why}: {got.status}, not 400 or 409")


@check(
    CREATE_INVALID,
    "sta/create-invalid",
    "a Datastream without Sensor and an Observation without Datastream are refused",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def create_invalid(t: Test) -> str:
    made = await fixture(t)
    thing = (await t.get(made["thing"], accept=api.JSON)).json_object().get("@iot.id")
    prop = await t.get(f"{made['datastream']}/ObservedProperty", accept=api.JSON)
    expect(prop.status == 200, f"GET {prop.url}: {prop.status}")
    tag = uuid.uuid4().hex[:8]
    stream = _stream(
        tag,
        Thing={"@iot.id": thing},
        ObservedProperty={"@iot.id": prop.json_object().get("@iot.id")},
    )
    found = Problems()
    await _refused(t, "Datastreams", stream, "without Sensor", found)
    orphan = {"phenomenonTime": "2020-01-01T00:00:00Z", "result": 1}
    await _refused(t, "Observations", orphan, "without Datastream", found)
    found.raise_if_any()
    return "both refused"


@check(
    DEEP_INVALID,
    "sta/deep-insert-invalid",
    "a Thing whose inline Datastream lacks its Sensor is refused and not created",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def deep_insert_invalid(t: Test) -> str:
    allowed(t)
    name = f"conformance invalid thing {uuid.uuid4().hex[:8]}"
    prop = {"name": "x", "definition": "urn:x", "description": "x"}
    stream = _stream(name, ObservedProperty=prop)
    body = {"name": name, "description": "must not be created", "Datastreams": [stream]}
    found = Problems()
    await _refused(t, "Things", body, "with an inline Datastream without Sensor", found)
    left = await t.get(
        api.set_url(t, "Things"), params={"$filter": f"name eq '{name}'"}, accept=api.JSON
    )
    if left.status != 200:
        raise Blocked(f"not tested for leftovers: $filter on name answered {left.status}")
    found.check(not api.value_of(left), f"the refused Thing {name!r} exists all the same")
    found.raise_if_any()
    return "refused, and nothing left behind"


@check(
    UPDATE_INVALID,
    "sta/update-invalid",
    "PATCH with a new inline Location answers 400",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def update_invalid(t: Test) -> str:
    made = await fixture(t, needs_datastream=False)
    location = {
        "name": "conformance patched location",
        "description": "must not be created",
        "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [10.1, 53.6]},
    }
    got = await t.request("PATCH", made["thing"], json={"Locations": [location]})
    expect(got.status == 400, f"PATCH {made['thing']} with an inline Location: {got.status}")
    return "400"


@check(
    DELETE_MISSING,
    "sta/delete-nonexistent",
    "DELETE of an unknown entity answers 404",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def delete_nonexistent(t: Test) -> str:
    made = await fixture(t, needs_datastream=False)
    known = (await t.get(made["thing"], accept=api.JSON)).json_object().get("@iot.id")
    missing: Any = 9223372036854775807 if isinstance(known, int) else "no-such-entity-4711"
    url = api.entity_url(t, "Things", missing)
    got = await t.request("DELETE", url)
    expect(got.status == 404, f"DELETE {url}: {got.status}, expected 404")
    return "404"
