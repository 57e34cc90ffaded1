"""SensorThings Sensing Core, read only (ETS sta10 level 1: Capability1Tests, for 1.1):
service root, every entity type's properties and relations, control information,
addressing entities, properties, $value, navigation paths and $ref."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from conformance.context import Problems, Test, expect
from conformance.model import CheckSkipped
from conformance.registry import SENSORTHINGS, check
from conformance.sensorthings import api
from conformance.sensorthings.names import (
    BY_SET,
    CORE,
    EXTRA_SETS,
    OBJECT_PROPERTIES,
    RELATION_TARGET,
    TYPES,
    EntityType,
    req,
)

RESOURCE_PATH = req(
    CORE,
    "resource-path/resource-path-to-entities",
    "Resource paths SHALL address the service root, entity sets, entities, properties, "
    "property values ($value), navigation properties and references ($ref); others get 404",
)
CONTROL = req(
    CORE,
    "datamodel/entity-control-information/common-control-information",
    "Every entity SHALL carry @iot.id and @iot.selfLink (the absolute URL of the entity)",
)


def _absolute(url: Any) -> bool:
    parts = urlsplit(url) if isinstance(url, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


@check(
    RESOURCE_PATH, "sta/service-root", "the service root lists the entity sets", suite=SENSORTHINGS
)
async def service_root(t: Test) -> str:
    doc = await api.root(t)
    found = Problems()
    names = {}
    for entry in doc["value"]:
        ok = isinstance(entry, dict) and isinstance(entry.get("name"), str)
        if found.check(
            ok and isinstance(entry.get("url"), str), f"entry {entry!r:.80} lacks name/url"
        ):
            names[entry["name"]] = entry["url"]
    root = api.root_url(t)
    for name in BY_SET:
        if found.check(name in names, f"no entity set {name}"):
            found.check(names[name] == f"{root}/{name}", f"{name}: url {names[name]!r}")
    for name in set(names) - set(BY_SET) - set(EXTRA_SETS):
        found.add(f"unknown entity set {name!r}")
    if urlsplit(root).path.rstrip("/").endswith("v1.1"):
        settings = doc.get("serverSettings")
        conformance = settings.get("conformance") if isinstance(settings, dict) else None
        found.check(
            isinstance(conformance, list) and all(isinstance(c, str) for c in conformance),
            "a 1.1 root needs serverSettings.conformance (a list of strings)",
        )
    found.raise_if_any("service root")
    return f"{len(names)} entity sets"


def _type_checks(et: EntityType) -> None:
    props = req(
        CORE,
        f"datamodel/{et.slug}/properties",
        f"A {et.name} SHALL have {', '.join(et.properties)}",
    )
    rels = req(
        CORE, f"datamodel/{et.slug}/relations", f"A {et.name} SHALL link {', '.join(et.relations)}"
    )

    @check(
        props,
        f"sta/{et.slug}/properties",
        f"{et.set}: mandatory properties present",
        suite=SENSORTHINGS,
    )
    async def properties(t: Test) -> str:
        found = Problems()
        entities = await api.sample(t, et.set)
        for e in entities:
            for p in et.properties:
                found.check(p in e, f"{et.name} {e.get('@iot.id')!r}: no {p}")
        found.raise_if_any()
        return f"{len(entities)} {et.set} checked"

    @check(
        rels,
        f"sta/{et.slug}/relations",
        f"{et.set}: navigation links present and working",
        suite=SENSORTHINGS,
    )
    async def relations(t: Test) -> str:
        found = Problems()
        entities = await api.sample(t, et.set, 1)
        for e in entities:
            for r in et.relations:
                link = e.get(f"{r}@iot.navigationLink")
                if not found.check(
                    isinstance(link, str),
                    f"{et.name} {e.get('@iot.id')!r}: no {r}@iot.navigationLink",
                ):
                    continue
                got = await t.get(
                    urljoin(e.get("@iot.selfLink", api.root_url(t)), link), accept=api.JSON
                )
                found.check(
                    got.status == 200, f"{r}@iot.navigationLink {link} answered {got.status}"
                )
        found.raise_if_any()
        return f"{len(et.relations)} navigation links present and answering"


for _et in TYPES:
    _type_checks(_et)


@check(
    CONTROL,
    "sta/control-information",
    "@iot.id and absolute @iot.selfLink on every entity",
    suite=SENSORTHINGS,
    per_collection=True,
)
async def control_information(t: Test) -> str:
    found = Problems()
    for e in await api.sample(t, t.collection):
        fid = e.get("@iot.id")
        found.check(fid is not None, f"{t.collection}: an entity without @iot.id")
        link = e.get("@iot.selfLink")
        if not found.check(
            _absolute(link), f"{t.collection}({fid}): @iot.selfLink {link!r} is not an absolute URL"
        ):
            continue
        got = await t.get(link, accept=api.JSON)
        same = got.status == 200 and got.json_object().get("@iot.id") == fid
        found.check(
            same, f"{t.collection}({fid}): @iot.selfLink answered {got.status} with another entity"
        )
    found.raise_if_any()
    return "ids and absolute self links that lead back to the entity"


@check(
    RESOURCE_PATH,
    "sta/read-entity",
    "GET Set(id) returns the entity; an unknown id answers 404",
    suite=SENSORTHINGS,
    per_collection=True,
)
async def read_entity(t: Test) -> str:
    e = (await api.sample(t, t.collection, 1))[0]
    got = await t.get(api.entity_url(t, t.collection, e["@iot.id"]), accept=api.JSON)
    expect(got.status == 200, f"GET {got.url} answered {got.status}")
    expect(
        got.json_object().get("@iot.id") == e["@iot.id"], f"GET {got.url} returned another entity"
    )
    missing: Any = 9223372036854775807 if isinstance(e["@iot.id"], int) else "no-such-entity-4711"
    none = await t.get(api.entity_url(t, t.collection, missing), accept=api.JSON)
    expect(none.status == 404, f"GET {none.url} answered {none.status}, expected 404")
    return "entity by id; 404 for an unknown id"


@check(
    RESOURCE_PATH,
    "sta/property",
    "Set(id)/property and /$value answer as the resource path rules say",
    suite=SENSORTHINGS,
    per_collection=True,
)
async def property_paths(t: Test) -> str:
    et = BY_SET[t.collection]
    e = (await api.sample(t, t.collection, 1))[0]
    base = api.entity_url(t, t.collection, e["@iot.id"])
    found = Problems()
    for p in et.properties:
        got = await t.get(f"{base}/{p}", accept=api.JSON)
        if e.get(p) is None:
            continue  # a null property may answer 204 or 404
        doc = got.json() if got.status == 200 else None
        found.check(
            isinstance(doc, dict) and list(doc) == [p],
            f"GET {got.url}: {got.status}, not {{{p!r}: …}}",
        )
        raw = await t.get(f"{base}/{p}/$value")
        is_object = p in OBJECT_PROPERTIES
        ok = raw.status == 200 and raw.text.lstrip().startswith("{") == is_object
        found.check(ok, f"GET {raw.url}: {raw.status} {raw.text[:40]!r}")
    found.raise_if_any()
    return f"{len(et.properties)} property paths"


@check(
    RESOURCE_PATH,
    "sta/navigation",
    "Set(id)/Relation and its $ref answer",
    suite=SENSORTHINGS,
    per_collection=True,
)
async def navigation(t: Test) -> str:
    et = BY_SET[t.collection]
    e = (await api.sample(t, t.collection, 1))[0]
    base = api.entity_url(t, t.collection, e["@iot.id"])
    found = Problems()
    for r in et.relations:
        got = await t.get(f"{base}/{r}", accept=api.JSON)
        if not found.check(got.status == 200, f"GET {got.url} answered {got.status}"):
            continue
        ref = await t.get(f"{base}/{r}/$ref", accept=api.JSON)
        if not found.check(ref.status == 200, f"GET {ref.url} answered {ref.status}"):
            continue
        doc = ref.json_object()
        items = doc.get("value", []) if et.plural(r) else [doc]
        found.check(
            all(isinstance(x, dict) and list(x) == ["@iot.selfLink"] for x in items),
            f"GET {ref.url}: entries must hold only @iot.selfLink",
        )
    found.raise_if_any()
    return f"{len(et.relations)} navigation paths and their $ref"


async def _step(t: Test, path: str, relation: str, found: Problems) -> str | None:
    """Follow one relation from the entity at `path`: the path of the entity reached (for
    a set, its first member addressed by id), or None where there is nothing to follow."""
    got = await t.get(f"{path}/{relation}", accept=api.JSON)
    if not found.check(got.status in (200, 204), f"GET {got.url} answered {got.status}"):
        return None
    if got.status == 204:
        return None  # an empty to-one relation
    if not EntityType.plural(relation):
        return f"{path}/{relation}"
    doc = got.json_object()
    members = doc.get("value") if isinstance(doc.get("value"), list) else None
    if not found.check(members is not None, f"GET {got.url}: no `value` array"):
        return None
    first = members[0] if members else None
    if not isinstance(first, dict) or "@iot.id" not in first:
        return None  # an empty set: nothing deeper to address
    return f"{path}/{relation}({api.literal(first['@iot.id'])})"


@check(
    RESOURCE_PATH,
    "sta/navigation-paths",
    "Set(id)/Relation(id)/Relation paths three segments deep and their $ref answer",
    suite=SENSORTHINGS,
    per_collection=True,
)
async def navigation_paths(t: Test) -> str:
    """OGC's ETS walks every relation from every entity type, addressing members of sets by
    id, to prove that paths compose: /Things(1)/Datastreams(7)/Sensor/Datastreams."""
    et = BY_SET[t.collection]
    e = (await api.sample(t, t.collection, 1))[0]
    base = api.entity_url(t, t.collection, e["@iot.id"])
    found = Problems()
    walked = 0
    for first in et.relations:
        middle = await _step(t, base, first, found)
        if middle is None:
            continue
        for second in BY_SET[RELATION_TARGET[first]].relations:
            got = await t.get(f"{middle}/{second}", accept=api.JSON)
            if not found.check(got.status in (200, 204), f"GET {got.url} answered {got.status}"):
                continue
            walked += 1
            if got.status == 204:
                continue
            ref = await t.get(f"{middle}/{second}/$ref", accept=api.JSON)
            doc = ref.json_object() if ref.status == 200 else {}
            items = doc.get("value", []) if EntityType.plural(second) else [doc]
            found.check(
                ref.status == 200
                and all(isinstance(x, dict) and list(x) == ["@iot.selfLink"] for x in items),
                f"GET {ref.url}: {ref.status}, entries must hold only @iot.selfLink",
            )
    found.raise_if_any()
    if not walked:
        raise CheckSkipped(f"{t.collection}({e['@iot.id']}) has no related entities to walk")
    return f"{walked} paths three segments deep, each with its $ref"
