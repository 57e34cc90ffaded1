"""A tiny, correct SensorThings API 1.1 server for the suite's tests (the gateway's STA
facade is not built yet): 2 Things, 2 Locations, 2 HistoricalLocations, 2 Sensors,
3 ObservedProperties, 4 Datastreams, 24 Observations, 2 FeaturesOfInterest; entity and
property paths, $value, $ref, navigation, $top/$skip/$count/$orderby/$select/$expand/
$filter, @iot.nextLink, create (with deep insert), PATCH, DELETE, and, given a broker,
MQTT publication of new Observations and creation of published ones."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.conformance.fake_sta_data import KEYS, POINT, RELATIONS, STA, seed
from tests.conformance.fake_sta_odata import FilterError, compile_filter

# Relations an entity cannot be created without (given inline, by id, or by its parent).
REQUIRED = {"Datastreams": ("Thing", "Sensor", "ObservedProperty"), "Observations": ("Datastream",)}


class FakeSTA:
    def __init__(self, mqtt: tuple[str, int] | None = None, page: int = 10) -> None:
        self.db = seed()
        self.mqtt = mqtt
        self.publishing = True
        self.listening = True
        self.page = page
        self.next_id = 1000

    # ---- model ---------------------------------------------------------------------------
    def related(self, set_name: str, eid: int, rel: str) -> tuple[str, list[int]]:
        target, fk, back = RELATIONS[set_name][rel]
        me = self.db[set_name][eid]
        if fk is not None:
            value = me.get(fk)
            return target, value if isinstance(value, list) else (
                [value] if value is not None else []
            )
        ids = []
        for tid, other in self.db[target].items():
            value = other.get(back)  # type: ignore[arg-type]
            if value == eid or (isinstance(value, list) and eid in value):
                ids.append(tid)
        return target, ids

    def render(
        self, base: str, set_name: str, eid: int, select: list[str] | None, expand: dict
    ) -> dict:
        me = self.db[set_name][eid]
        self_link = f"{base}/{set_name}({eid})"
        out: dict[str, Any] = {"@iot.id": eid, "@iot.selfLink": self_link}
        out |= {k: v for k, v in me.items() if k not in KEYS}
        for rel in RELATIONS[set_name]:
            out[f"{rel}@iot.navigationLink"] = f"{self_link}/{rel}"
        if select:
            out = {k: v for k, v in out.items() if k in select}
        for rel, sub in expand.items():
            target, ids = self.related(set_name, eid, rel)
            items = [self.render(base, target, i, None, sub) for i in ids]
            out[rel] = items if rel.endswith("s") else (items[0] if items else None)
        return out

    # ---- reading ---------------------------------------------------------------------------
    def resolve(self, path: list[str]) -> tuple[str, str, list[int] | int | None, list[str]]:
        """(kind, set, ids or id, rest) for a path like Things(1)/Datastreams."""
        m = re.fullmatch(r"(\w+)(?:\((\d+)\))?", path[0])
        if not m or m[1] not in self.db:
            raise KeyError(path[0])
        set_name = m[1]
        current: Any = int(m[2]) if m[2] else None
        kind = "entity" if m[2] else "set"
        if kind == "entity" and current not in self.db[set_name]:
            raise KeyError(path[0])
        rest = path[1:]
        while rest and kind == "entity":
            step = re.fullmatch(r"(\w+)(?:\((\d+)\))?", rest[0])
            if not step or step[1] not in RELATIONS[set_name]:
                break
            set_name, ids = self.related(set_name, current, step[1])
            if step[1].endswith("s"):
                kind, current = "set", ids
            else:
                kind, current = "entity", ids[0] if ids else None
                if current is None:
                    raise KeyError(rest[0])
            rest = rest[1:]
            member = step[2]
            older = re.fullmatch(r"(\w+)\((\d+)\)", rest[0]) if rest and not member else None
            if older and kind == "set":  # the form Things(1)/Datastreams/Datastreams(7)
                member, rest = older[2], rest[1:]
            if member is not None:
                if kind != "set" or int(member) not in current:
                    raise KeyError(rest[0] if rest else step[0])
                kind, current = "entity", int(member)
        return kind, set_name, current, rest

    def base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/v1.1"

    def root_doc(self, base: str) -> dict[str, Any]:
        conformance = [
            f"{STA}/datamodel",
            f"{STA}/resource-path/resource-path-to-entities",
            f"{STA}/request-data",
            f"{STA}/create-update-delete",
        ]
        settings: dict[str, Any] = {"conformance": conformance}
        if self.mqtt:
            for req in (
                "receive-updates-via-mqtt/receive-updates",
                "create-observations-via-mqtt/observations-creation",
            ):
                conformance.append(f"{STA}/{req}")
                settings[f"{STA}/{req}"] = {"endpoints": [f"mqtt://{self.mqtt[0]}:{self.mqtt[1]}"]}
        value = [{"name": n, "url": f"{base}/{n}"} for n in RELATIONS]
        return {"value": value, "serverSettings": settings}

    @staticmethod
    def expansions(text: str | None) -> dict[str, dict]:
        tree: dict[str, dict] = {}
        for item in filter(None, (text or "").split(",")):
            node = tree
            for part in item.strip().split("/"):
                node = node.setdefault(part, {})
        return tree

    def collection(self, request: Request, set_name: str, ids: list[int]) -> Response:
        q, base = request.query_params, self.base(request)
        try:
            keep = compile_filter(q["$filter"]) if "$filter" in q else None
            top = int(q.get("$top", self.page))
            skip = int(q.get("$skiptoken", q.get("$skip", 0)))  # nextLinks carry a token
        except (FilterError, ValueError) as e:
            return JSONResponse({"code": 400, "type": "error", "message": str(e)}, 400)
        rows = [(i, self.render(base, set_name, i, None, {})) for i in sorted(ids)]
        if keep:
            rows = [(i, r) for i, r in rows if keep(r)]
        if "$orderby" in q:
            key, _, direction = q["$orderby"].partition(" ")
            rows.sort(
                key=lambda ir: (ir[1].get(key) is None, ir[1].get(key), ir[0]),
                reverse=direction == "desc",
            )
        select = q["$select"].split(",") if "$select" in q else None
        expand = self.expansions(q.get("$expand"))
        page = [self.render(base, set_name, i, select, expand) for i, _ in rows[skip : skip + top]]
        doc: dict[str, Any] = {}
        if q.get("$count") == "true":
            doc["@iot.count"] = len(rows)
        doc["value"] = page
        if skip + top < len(rows):
            params = {**{k: v for k, v in q.items() if k != "$skip"}, "$top": str(top)}
            params["$skiptoken"] = str(skip + top)
            query = "&".join(f"{k}={v}" for k, v in params.items())
            doc["@iot.nextLink"] = f"{base}/{set_name}?{query}"
        return JSONResponse(doc)

    async def get(self, request: Request) -> Response:
        base = self.base(request)
        path = [p for p in request.path_params.get("path", "").split("/") if p]
        if not path:
            return JSONResponse(self.root_doc(base))
        try:
            kind, set_name, current, rest = self.resolve(path)
        except KeyError:
            return JSONResponse({"code": 404, "type": "error", "message": "not found"}, 404)
        ids = current if kind == "set" else [current]
        if kind == "set" and current is None:
            ids = list(self.db[set_name])
        if rest == ["$ref"]:
            refs = [{"@iot.selfLink": f"{base}/{set_name}({i})"} for i in ids]  # type: ignore[union-attr]
            return JSONResponse({"value": refs} if kind == "set" else refs[0])
        if kind == "set":
            return (
                self.collection(request, set_name, ids) if not rest else Response(status_code=404)
            )
        entity = self.render(base, set_name, current, None, {})  # type: ignore[arg-type]
        if not rest:
            q = request.query_params
            select = q["$select"].split(",") if "$select" in q else None
            return JSONResponse(
                self.render(base, set_name, current, select, self.expansions(q.get("$expand")))
            )  # type: ignore[arg-type]
        if rest[0] not in entity or rest[0].startswith("@") or len(rest) > 2:
            return Response(status_code=404)
        value = entity[rest[0]]
        if rest[1:] == ["$value"]:
            text = json.dumps(value) if isinstance(value, dict | list) else str(value)
            return PlainTextResponse(text)
        return JSONResponse({rest[0]: value})

    # ---- writing ---------------------------------------------------------------------------
    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def create(self, set_name: str, body: dict[str, Any]) -> int:
        body = dict(body)
        if "@iot.id" in body and len(body) == 1:
            return int(body["@iot.id"])
        eid = self.new_id()
        row: dict[str, Any] = {}
        for key, value in body.items():
            if key in RELATIONS[set_name]:
                continue
            row[key] = value
        self.db[set_name][eid] = row
        rel = RELATIONS[set_name]
        for key, value in body.items():
            if key not in rel:
                continue
            target, fk, back = rel[key]
            children = [
                self.create(target, v) for v in (value if isinstance(value, list) else [value])
            ]
            if fk is not None:
                row[fk] = children if fk == "locations" else children[0]
            else:
                for child in children:
                    self.db[target][child][back] = eid  # type: ignore[index]
        if set_name == "Things" and row.get("locations"):
            hid = self.new_id()
            self.db["HistoricalLocations"][hid] = {
                "time": "2024-06-01T00:00:00Z",
                "thing": eid,
                "locations": row["locations"],
            }
        if set_name == "Observations" and "foi" not in row:
            thing = self.db["Things"][self.db["Datastreams"][row["datastream"]]["thing"]]
            loc = self.db["Locations"][thing["locations"][0]]
            fid = self.new_id()
            self.db["FeaturesOfInterest"][fid] = {
                "name": loc["name"],
                "description": "from location",
                "encodingType": POINT,
                "feature": loc["location"],
            }
            row["foi"] = fid
        return eid

    def invalid(self, set_name: str, body: Any, implied: str | None = None) -> str | None:
        """Why a create (with its inline entities) must be refused as a whole, or None."""
        if not isinstance(body, dict):
            return f"{set_name}: not an object"
        if "@iot.id" in body and len(body) == 1:
            known = body["@iot.id"] in self.db[set_name]
            return None if known else f"no {set_name}({body['@iot.id']})"
        for rel in REQUIRED.get(set_name, ()):
            if rel not in body and rel != implied:
                return f"a {set_name} needs its {rel}"
        for key, value in body.items():
            if key not in RELATIONS[set_name]:
                continue
            target = RELATIONS[set_name][key][0]
            back = next((r for r, v in RELATIONS[target].items() if v[0] == set_name), None)
            for child in value if isinstance(value, list) else [value]:
                if why := self.invalid(target, child, back):
                    return why
        return None

    async def post(self, request: Request) -> Response:
        set_name = request.path_params["path"].strip("/")
        if set_name not in self.db:
            return Response(status_code=404)
        try:
            body = await request.json()
            if why := self.invalid(set_name, body):
                return JSONResponse({"code": 400, "type": "error", "message": why}, 400)
            eid = self.create(set_name, body)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            return JSONResponse({"code": 400, "type": "error", "message": repr(e)}, 400)
        base = self.base(request)
        if set_name == "Observations":
            await self.publish(base, eid)
        doc = self.render(base, set_name, eid, None, {})
        return JSONResponse(doc, 201, headers={"Location": doc["@iot.selfLink"]})

    async def patch(self, request: Request) -> Response:
        kind, set_name, eid, rest = self.resolve(request.path_params["path"].strip("/").split("/"))
        if kind != "entity" or rest:
            return Response(status_code=404)
        body = await request.json()
        inline = [k for k, v in body.items() if k in RELATIONS[set_name] and not _refs(v)]
        if inline:
            message = f"related entities cannot be created by PATCH: {inline}"
            return JSONResponse({"code": 400, "type": "error", "message": message}, 400)
        self.db[set_name][eid].update(
            {k: v for k, v in body.items() if k not in RELATIONS[set_name]}
        )  # type: ignore[index]
        return JSONResponse(self.render(self.base(request), set_name, eid, None, {}))  # type: ignore[arg-type]

    async def delete(self, request: Request) -> Response:
        try:
            kind, set_name, eid, rest = self.resolve(
                request.path_params["path"].strip("/").split("/")
            )
        except KeyError:
            return Response(status_code=404)
        if kind != "entity" or rest:
            return Response(status_code=404)
        self.db[set_name].pop(eid)  # type: ignore[arg-type]
        for oid in [
            o
            for o, row in self.db["Observations"].items()
            if row.get("datastream") == eid and set_name == "Datastreams"
        ]:
            self.db["Observations"].pop(oid)
        return Response(status_code=200)

    # ---- MQTT ------------------------------------------------------------------------------
    async def publish(self, base: str, eid: int) -> None:
        if not self.mqtt or not self.publishing:
            return
        import aiomqtt

        doc = self.render(base, "Observations", eid, None, {})
        ds = self.db["Observations"][eid]["datastream"]
        async with aiomqtt.Client(*self.mqtt) as client:
            for topic in (f"v1.1/Datastreams({ds})/Observations", "v1.1/Observations"):
                await client.publish(topic, json.dumps(doc), qos=1)

    async def listen(self) -> None:
        """Create Observations published by clients to v1.1/Datastreams(id)/Observations."""
        import aiomqtt

        async with aiomqtt.Client(*self.mqtt) as client:  # type: ignore[misc]
            await client.subscribe("v1.1/+/Observations", qos=1)
            async for message in client.messages:
                payload = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                m = re.fullmatch(r"v1\.1/Datastreams\((\d+)\)/Observations", str(message.topic))
                if m and "@iot.id" not in payload and self.listening:
                    self.create("Observations", {**payload, "Datastream": {"@iot.id": int(m[1])}})


def _refs(value: Any) -> bool:
    """Only links to existing entities by id (what PATCH may change)."""
    items = value if isinstance(value, list) else [value]
    return all(isinstance(x, dict) and list(x) == ["@iot.id"] for x in items)


def make_app(mqtt: tuple[str, int] | None = None, page: int = 10) -> Starlette:
    fake = FakeSTA(mqtt, page)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        task = asyncio.ensure_future(fake.listen()) if mqtt else None
        yield
        if task:
            task.cancel()

    routes = [
        Route("/v1.1/{path:path}", fake.get, methods=["GET"]),
        Route("/v1.1/{path:path}", fake.post, methods=["POST"]),
        Route("/v1.1/{path:path}", fake.patch, methods=["PATCH"]),
        Route("/v1.1/{path:path}", fake.delete, methods=["DELETE"]),
        Route("/v1.1", fake.get, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.fake = fake
    return app
