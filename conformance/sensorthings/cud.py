"""SensorThings create, update, delete (ETS sta10 level 2), only with --allow-writes:
the checks create their own entities and delete them at the end of the run."""

from __future__ import annotations

import uuid
from typing import Any

from conformance.context import Problems, Test, expect
from conformance.http import Fetched
from conformance.model import Blocked, CheckSkipped
from conformance.registry import SENSORTHINGS, check
from conformance.sensorthings import api
from conformance.sensorthings.names import CUD, STA, req

CREATE = req(
    CUD, "create-update-delete/create-entity", "POST SHALL create an entity: 201 and Location"
)
DEEP = req(
    CUD, "create-update-delete/deep-insert", "POST SHALL create related entities given inline"
)
LINK = req(
    CUD,
    "create-update-delete/link-to-existing-entities",
    "POST SHALL link to existing entities by @iot.id",
)
HISTORY = req(
    CUD,
    "create-update-delete/historical-location-auto-creation",
    "A Thing given a Location SHALL get a HistoricalLocation",
)
UPDATE = req(
    CUD, "create-update-delete/update-entity", "PATCH SHALL change only the given properties: 200"
)
DELETE = req(
    CUD, "create-update-delete/delete-entity", "DELETE SHALL remove the entity: 200, then 404"
)
NEEDS = (f"{STA}/req/create-update-delete",)
SENSOR = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def allowed(t: Test) -> None:
    if not t.ctx.options.allow_writes:
        raise CheckSkipped("writes are not allowed (use --allow-writes: it changes data)")


def created_url(t: Test, got: Fetched, what: str) -> str:
    expect(got.status == 201, f"POST {what} answered {got.status}, expected 201")
    location = got.headers.get("location")
    expect(location and location.startswith("http"), f"POST {what}: Location header {location!r}")
    t.ctx.cleanups.append(lambda: _delete(t, location))  # type: ignore[arg-type]
    return location  # type: ignore[return-value]


async def _delete(t: Test, url: str) -> None:
    await t.ctx.session.fetch("DELETE", url)


def thing_body(tag: str) -> dict[str, Any]:
    return {
        "name": f"conformance thing {tag}",
        "description": "created by twinbridge conformance",
        "properties": {"tag": tag},
        "Locations": [
            {
                "name": f"conformance location {tag}",
                "description": "test",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [10.0, 53.55]},
            }
        ],
        "Datastreams": [
            {
                "name": f"conformance datastream {tag}",
                "description": "test",
                "observationType": SENSOR,
                "unitOfMeasurement": {
                    "name": "degree Celsius",
                    "symbol": "°C",
                    "definition": "http://unitsofmeasure.org/ucum.html#para-30",
                },
                "Sensor": {
                    "name": f"sensor {tag}",
                    "description": "test",
                    "encodingType": "application/pdf",
                    "metadata": "none",
                },
                "ObservedProperty": {
                    "name": f"temperature {tag}",
                    "definition": "http://example.org/temperature",
                    "description": "test",
                },
            }
        ],
    }


async def fixture(t: Test, needs_datastream: bool = True) -> dict[str, Any]:
    """One deep-inserted Thing for the whole run: its URL and its Datastream's URL."""

    async def make(probe: Any) -> dict[str, str]:
        got = await probe.request(
            "POST", api.set_url(t, "Things"), json=thing_body(uuid.uuid4().hex[:8])
        )
        thing = created_url(t, got, "Things (deep insert)")
        streams = await probe.get(f"{thing}/Datastreams", accept=api.JSON)
        values = api.value_of(streams) if streams.status == 200 else []
        if not values:
            return {"thing": thing}
        first = values[0]
        link = first.get("@iot.selfLink") or api.entity_url(t, "Datastreams", first["@iot.id"])
        return {"thing": thing, "datastream": link, "datastream_id": first["@iot.id"]}

    allowed(t)
    made = await t.http.memo(("sta-fixture",), make)
    if needs_datastream and "datastream" not in made:
        raise Blocked(f"not tested: {made['thing']} has no Datastream (see sta/deep-insert)")
    return made


@check(
    CREATE,
    "sta/create-entity",
    "POST Things answers 201 with a Location that GET returns",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def create(t: Test) -> str:
    allowed(t)
    tag = uuid.uuid4().hex[:8]
    got = await t.request(
        "POST", api.set_url(t, "Things"), json={"name": f"plain {tag}", "description": "test"}
    )
    url = created_url(t, got, "Things")
    back = await t.get(url, accept=api.JSON)
    expect(
        back.status == 200 and back.json_object().get("name") == f"plain {tag}",
        f"GET {url}: {back.status}",
    )
    return f"created {url}"


@check(
    DEEP,
    "sta/deep-insert",
    "a Thing with inline Location and Datastream creates them all",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def deep_insert(t: Test) -> str:
    made = await fixture(t, needs_datastream=False)
    found = Problems()
    for path in ("Locations", "Datastreams"):
        got = await t.get(f"{made['thing']}/{path}", accept=api.JSON)
        found.check(
            got.status == 200 and len(api.value_of(got)) == 1, f"GET {got.url}: {got.status}"
        )
    for path in ("Sensor", "ObservedProperty") if "datastream" in made else ():
        got = await t.get(f"{made['datastream']}/{path}", accept=api.JSON)
        found.check(got.status == 200, f"GET {got.url}: {got.status}")
    found.raise_if_any()
    return "Thing, Location, Datastream, Sensor and ObservedProperty created together"


@check(
    HISTORY,
    "sta/historical-location",
    "the new Thing got a HistoricalLocation",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def historical_location(t: Test) -> str:
    made = await fixture(t, needs_datastream=False)
    got = await t.get(f"{made['thing']}/HistoricalLocations", accept=api.JSON)
    expect(got.status == 200 and api.value_of(got), f"GET {got.url}: no HistoricalLocation")
    return "HistoricalLocation created"


@check(
    LINK,
    "sta/link-to-existing",
    "an Observation linked by @iot.id lands in its Datastream",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def link_existing(t: Test) -> str:
    made = await fixture(t)
    body = {
        "phenomenonTime": "2020-01-01T00:00:00Z",
        "result": 4711.5,
        "Datastream": {"@iot.id": made["datastream_id"]},
    }
    got = await t.request("POST", api.set_url(t, "Observations"), json=body)
    url = created_url(t, got, "Observations")
    listing = await t.get(f"{made['datastream']}/Observations", accept=api.JSON)
    expect(
        any(o.get("result") == 4711.5 for o in api.value_of(listing)),
        f"{listing.url} lacks the new Observation",
    )
    foi = await t.get(f"{url}/FeatureOfInterest", accept=api.JSON)
    expect(
        foi.status == 200,
        f"GET {foi.url}: {foi.status} (a FeatureOfInterest is created from the Location)",
    )
    return "Observation linked to its Datastream, FeatureOfInterest created"


@check(
    UPDATE,
    "sta/update-entity",
    "PATCH changes the description only",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def update(t: Test) -> str:
    made = await fixture(t, needs_datastream=False)
    before = (await t.get(made["thing"], accept=api.JSON)).json_object()
    got = await t.request("PATCH", made["thing"], json={"description": "patched by conformance"})
    expect(got.status == 200, f"PATCH {made['thing']} answered {got.status}, expected 200")
    after = (await t.get(made["thing"], accept=api.JSON)).json_object()
    expect(after.get("description") == "patched by conformance", "the description did not change")
    expect(after.get("name") == before.get("name"), "the name changed too")
    return "PATCH changed exactly the description"


@check(
    DELETE,
    "sta/delete-entity",
    "DELETE answers 200 and the entity is gone",
    suite=SENSORTHINGS,
    writes=True,
    needs=NEEDS,
)
async def delete(t: Test) -> str:
    allowed(t)
    got = await t.request(
        "POST", api.set_url(t, "Things"), json={"name": "to delete", "description": "test"}
    )
    url = created_url(t, got, "Things")
    gone = await t.request("DELETE", url)
    expect(gone.status == 200, f"DELETE {url} answered {gone.status}, expected 200")
    after = await t.get(url, accept=api.JSON)
    expect(after.status == 404, f"GET {url} after DELETE answered {after.status}")
    return "deleted"
