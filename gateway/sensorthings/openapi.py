"""The OpenAPI 3.0 document of one SensorThings service (a tenant's, or the federated view),
generated from the entity model, served at `{service root}/api` (where FROST-Server's
OpenAPI plugin serves it, and next to the resources it describes, as `/api` is for the
Features facade).

It describes the read paths every service has: the entity sets, single entities (integer
ids, or quoted strings such as `('leipzig:1')` in the federated view), navigation to related
entities, `$ref`, single properties and their `$value`; the writes only where the service
takes them (an API key in `X-API-Key`). Query options carry what JSON Schema can say: enums
of the entity type's properties for `$select` and `$orderby` as patterns, integer bounds
for `$top` and `$skip`; the grammars of `$filter` and `$expand` are in the descriptions.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from gateway.access import openapi as access_openapi
from gateway.access.openapi import API_KEY, ApiSecurity
from gateway.sensorthings.model import BY_PLURAL, ROOT_SETS, EntityType, target

REF = "#/components"
JSON = "application/json"
MAX_INTEGER = 10**18 - 1  # what the option parser reads: up to 18 digits
WRITE_ERRORS = ("400", "401", "403", "404", "409")
READ_ERRORS = ("400", "404", "502", "503", "504")
STATUS = {
    "400": "The request is malformed (a path segment, a query option or the body).",
    "401": "Writes need the API key in X-API-Key.",
    "403": "The API key is wrong, or the service is read-only.",
    "404": "The entity (or entity set) does not exist.",
    "409": "The write conflicts with existing entities.",
    "500": "An unexpected error.",
    "502": "An upstream SensorThings server failed.",
    "503": "A source is busy; retry after a while.",
    "504": "An upstream SensorThings server did not answer in time.",
}


def _option(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _list_pattern(item: str) -> str:
    return f"^{item}(,{item})*$"


def _names(etype: EntityType, sets: set[str]) -> list[str]:
    rels = [r.name for r in etype.rels if target(r).plural in sets]
    return ["id", "@iot.id", *etype.prop, *rels]


def _options(etype: EntityType, sets: set[str], collection: bool) -> list[dict[str, Any]]:
    options = [
        _option(
            "$select",
            {
                "type": "string",
                "pattern": _list_pattern(f"({'|'.join(map(re.escape, _names(etype, sets)))})"),
            },
            "Only these properties and navigation links, comma-separated.",
        ),
        _option(
            "$expand",
            {"type": "string"},
            "Related entities to include inline: relation names, `/` paths and nested "
            "options in parentheses, e.g. `Datastreams($top=1;$expand=Observations)`.",
        ),
    ]
    if not collection:
        return options
    options += [
        _option("$top", {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER}, "Page size."),
        _option("$skip", {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER}, "Skip."),
        _option("$count", {"type": "boolean"}, "Include `@iot.count`, the number of matches."),
        _option(
            "$orderby",
            {"type": "string"},
            f"Sort keys, comma-separated: an expression of the $filter grammar (a property: "
            f"{', '.join(['id', *etype.prop])}), optionally followed by ` asc` or ` desc`.",
        ),
        _option(
            "$filter",
            {"type": "string"},
            "An OData filter expression (SensorThings 1.1, section 9.3.3.5).",
        ),
    ]
    if etype.name == "Observation":
        options.append(
            _option("$resultFormat", {"type": "string", "enum": ["dataArray"]}, "Compact arrays.")
        )
    return options


def _responses(ok: dict[str, Any], errors: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"200": ok}
    for status in (*errors, "500"):
        out[status] = {"$ref": f"{REF}/responses/{status}"}
    return out


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": f"{REF}/schemas/{schema}"}}},
    }


def _get(op_id: str, summary: str, params: list[Any], ok: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": op_id,
        "summary": summary,
        "parameters": params,
        "responses": _responses(ok, READ_ERRORS),
    }


def _write(op_id: str, summary: str, ok: str, body: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "security": [{API_KEY: []}],
        "responses": _responses({"description": "Done."}, WRITE_ERRORS),
    }
    op["responses"].pop("200")
    op["responses"][ok] = {"description": "Done."}
    if body:
        schema = {"type": "object"}
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
    return op


ID = {"$ref": f"{REF}/parameters/id"}


def _ref_options(etype: EntityType, sets: set[str]) -> list[dict[str, Any]]:
    """A `$ref` list pages and filters like its set, but selects and expands nothing."""
    return [o for o in _options(etype, sets, True) if o["name"] not in ("$select", "$expand")]


def _entity_paths(etype: EntityType, sets: set[str], writable: bool) -> dict[str, Any]:
    plural, name = etype.plural, etype.name
    one = f"/{plural}({{id}})"
    value = {"description": "The value.", "content": {"text/plain": {"schema": {"type": "string"}}}}
    paths: dict[str, Any] = {
        f"/{plural}": _read(
            f"list{plural}", f"The {plural}", _options(etype, sets, True), "entitySet"
        ),
        f"/{plural}/$ref": _read(
            f"refs{plural}", f"Links to the {plural}", _ref_options(etype, sets), "entitySet"
        ),
        one: _read(f"get{name}", f"One {name}", [ID, *_options(etype, sets, False)], "entity"),
        f"{one}/{{property}}": _read(
            f"get{name}Property", f"One property of a {name}", [ID, _property(etype)], "entity"
        ),
        f"{one}/{{property}}/$value": {
            "get": _get(
                f"get{name}Value", f"A raw value of a {name}", [ID, _property(etype)], value
            )
        },
    }
    paths[f"{one}/{{property}}/$value"]["get"]["responses"]["204"] = {"description": "No value."}
    if writable:
        paths[f"/{plural}"]["post"] = _write(f"create{name}", f"Create a {name}", "201")
        for method, verb in (("patch", "Update"), ("put", "Replace"), ("delete", "Delete")):
            op = _write(f"{verb.lower()}{name}", f"{verb} a {name}", "200", method != "delete")
            paths[one][method] = {**op, "parameters": [ID]}
    for rel in etype.rels:
        related = target(rel)
        if related.plural not in sets:
            continue
        path, label = f"{one}/{rel.name}", f"{name}{rel.name}"
        params = [ID, *_options(related, sets, rel.many)]
        doc = "entitySet" if rel.many else "entity"
        paths[path] = _read(f"get{label}", f"The {rel.name} of a {name}", params, doc)
        if rel.many:
            refs = [ID, *_ref_options(related, sets)]
            paths[f"{path}/$ref"] = _read(
                f"refs{label}", f"Links to the {rel.name}", refs, "entitySet"
            )
    return paths


def _read(op_id: str, summary: str, params: list[Any], schema: str) -> dict[str, Any]:
    return {"get": _get(op_id, summary, params, _json(summary, schema))}


def _property(etype: EntityType) -> dict[str, Any]:
    return {
        "name": "property",
        "in": "path",
        "required": True,
        "description": f"A property of {etype.name}.",
        "schema": {"type": "string", "enum": ["id", *etype.prop]},
    }


def _components(writable: bool) -> dict[str, Any]:
    links = {"type": "string", "format": "uri"}
    components: dict[str, Any] = {
        "parameters": {
            "id": {
                "name": "id",
                "in": "path",
                "required": True,
                "description": "The entity's id: an integer, or a quoted string with '' for '.",
                "schema": {
                    "oneOf": [
                        {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                        {"type": "string", "pattern": "^'([^']|'')*'$"},
                    ]
                },
            }
        },
        "schemas": {
            "error": {
                "type": "object",
                "required": ["type", "code", "message"],
                "properties": {
                    "type": {"type": "string", "enum": ["error"]},
                    "code": {"type": "integer"},
                    "message": {"type": "string"},
                },
            },
            "entity": {"type": "object", "properties": {"@iot.selfLink": links}},
            "entitySet": {
                "type": "object",
                "required": ["value"],
                "properties": {
                    "value": {"type": "array", "items": {"$ref": f"{REF}/schemas/entity"}},
                    "@iot.count": {"type": "integer", "minimum": 0},
                    "@iot.nextLink": links,
                },
            },
            "serviceRoot": {
                "type": "object",
                "required": ["value", "serverSettings"],
                "properties": {
                    "value": {"type": "array", "items": {"type": "object"}},
                    "serverSettings": {"type": "object"},
                },
            },
        },
        "responses": {
            status: {
                "description": text,
                "content": {JSON: {"schema": {"$ref": f"{REF}/schemas/error"}}},
            }
            for status, text in STATUS.items()
        },
    }
    if writable:
        components["securitySchemes"] = {
            API_KEY: {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        }
    return components


def document(
    root: str,
    title: str,
    writable: bool,
    multi_datastream: bool,
    security: ApiSecurity | None = None,
) -> dict[str, Any]:
    """The API definition; `security` is the tenant's access (its schemes, the requirement
    of writes, and of reads when its reading is closed), none for the federated root."""
    doc = _document(root, title, writable, multi_datastream)
    if security is not None:
        _secure(doc, writable, security)
    return doc


def _secure(doc: dict[str, Any], writable: bool, security: ApiSecurity) -> None:
    """The tenant's schemes beside the environment key's `apiKey` (kept while writes are
    served: `api_key_env` takes the same header); writes accept any of them."""
    schemes = dict(security.schemes)
    if writable:
        schemes.setdefault(API_KEY, doc["components"]["securitySchemes"][API_KEY])
    requirement = [{name: []} for name in schemes]
    for operations in doc["paths"].values():
        for operation in operations.values():
            if "security" in operation:
                operation["security"] = requirement
    access_openapi.secure(doc, replace(security, schemes=schemes, requirement=requirement))


def _document(root: str, title: str, writable: bool, multi_datastream: bool) -> dict[str, Any]:
    sets = {s for s in ROOT_SETS if multi_datastream or s != "MultiDatastreams"}
    paths: dict[str, Any] = {
        "/": {
            "get": _get("getServiceRoot", "The service root", [], _json("The sets.", "serviceRoot"))
        },
        "/api": {
            "get": _get(
                "getApi",
                "This API definition",
                [],
                {
                    "description": "OpenAPI 3.0",
                    "content": {"application/vnd.oai.openapi+json;version=3.0": {"schema": {}}},
                },
            )
        },
    }
    for plural in ROOT_SETS:
        if plural in sets:
            paths.update(_entity_paths(BY_PLURAL[plural], sets, writable))
    if writable:
        paths["/CreateObservations"] = {
            "post": _write("createObservations", "Create Observations in bulk (dataArray)", "201")
        }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "description": "OGC SensorThings API 1.1 (sensing core, filtering"
            + (", create-update-delete)" if writable else "; read-only)"),
            "version": "1.1",
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "servers": [{"url": root}],
        "paths": paths,
        "components": _components(writable),
    }
