"""Reading an OpenAPI 3.0 document the way OGC's test suite does: operations are found by
matching a URL against `servers` + `paths` templates, parameters are resolved through
local `$ref`s (`#/components/...`). Remote `$ref`s are not fetched (the suite talks only to
the server under test), except that references to the parameters of OGC's own Part 1
building block (schemas.opengis.net/.../ogcapi-features-1.yaml, parameters/*.yaml) resolve
to the copies below, as servers like MapServer use them; other remote nodes stay as they are.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "style": "form",
        "explode": False,
    }


# The parameters of OGC API - Features - Part 1 1.0, as published in the standard's
# OpenAPI building block (core/openapi/ogcapi-features-1.yaml; descriptions left out).
OGC_PARAMETERS: dict[str, dict[str, Any]] = {
    "bbox": _query(
        "bbox",
        {
            "type": "array",
            "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
            "items": {"type": "number"},
        },
    ),
    "datetime": _query("datetime", {"type": "string"}),
    "limit": _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}),
    "collectionId": {
        "name": "collectionId",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    },
    "featureId": {
        "name": "featureId",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    },
}
_OGC_PARAMETER = re.compile(
    r"^https?://schemas\.opengis\.net/ogcapi/features/part1/1\.0/openapi/"
    r"(?:ogcapi-features-1\.yaml#/components/parameters/|parameters/)(\w+?)(?:\.yaml)?$"
)


def known_remote(ref: str) -> dict[str, Any] | None:
    """The definition behind a remote reference to an OGC Part 1 parameter, if it is one."""
    m = _OGC_PARAMETER.match(ref)
    return OGC_PARAMETERS.get(m.group(1)) if m else None


def resolve(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """Follow local `$ref`s; a remote or broken one is returned unresolved."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 20:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return known_remote(ref) or node
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return node
            target = target[part]
        node, depth = target, depth + 1
    return node


def server_bases(doc: dict[str, Any], landing_url: str) -> list[str]:
    """Absolute base URLs from `servers` ("/" or none means the landing page's root)."""
    root = landing_url.rstrip("/")
    bases = []
    for server in doc.get("servers") or [{"url": "/"}]:
        url = server.get("url", "/") if isinstance(server, dict) else "/"
        if not isinstance(url, str) or url in ("", "/"):
            bases.append(root)
        else:
            for name, var in (server.get("variables") or {}).items():
                if isinstance(var, dict) and "default" in var:
                    url = url.replace("{" + name + "}", str(var["default"]))
            bases.append(urljoin(landing_url if landing_url.endswith("/") else root + "/", url))
    return [b.rstrip("/") for b in bases]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    body = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body}/?$")


def find_path(doc: dict[str, Any], landing_url: str, url: str) -> str | None:
    """The `paths` key whose template matches `url` (concrete paths win over templates)."""
    path = unquote(urlsplit(url).path)
    paths = doc.get("paths") or {}
    candidates: list[tuple[int, str]] = []
    for base in server_bases(doc, landing_url):
        base_path = unquote(urlsplit(base).path).rstrip("/")
        if not path.startswith(base_path):
            continue
        rest = path[len(base_path) :] or "/"
        for template in paths:
            if isinstance(template, str) and _template_regex(template).match(rest):
                candidates.append((template.count("{"), template))
    return min(candidates)[1] if candidates else None


def operation(doc: dict[str, Any], template: str, method: str = "get") -> dict[str, Any] | None:
    item = resolve(doc, (doc.get("paths") or {}).get(template))
    if not isinstance(item, dict):
        return None
    op = resolve(doc, item.get(method))
    return op if isinstance(op, dict) else None


def parameters(doc: dict[str, Any], template: str, method: str = "get") -> dict[str, dict]:
    """The operation's parameters by name (path-level ones included, local $refs resolved)."""
    item = resolve(doc, (doc.get("paths") or {}).get(template)) or {}
    op = operation(doc, template, method) or {}
    found: dict[str, dict] = {}
    for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
        param = resolve(doc, raw)
        if isinstance(param, dict) and isinstance(param.get("name"), str):
            found[param["name"]] = param
    return found


def parameter_schema(doc: dict[str, Any], param: dict[str, Any]) -> dict[str, Any]:
    schema = resolve(doc, param.get("schema"))
    return schema if isinstance(schema, dict) else {}


def responses(doc: dict[str, Any], template: str, method: str = "get") -> dict[str, Any]:
    op = operation(doc, template, method) or {}
    found = op.get("responses")
    return found if isinstance(found, dict) else {}


def response_media_types(doc: dict[str, Any], response: Any) -> set[str] | None:
    """Media types a response object declares; None when it cannot be read (remote $ref)."""
    response = resolve(doc, response)
    if not isinstance(response, dict) or "$ref" in response:
        return None
    content = response.get("content")
    if not isinstance(content, dict):
        return set()
    return {str(k).split(";")[0].strip().lower() for k in content}


def declares_status(doc: dict[str, Any], template: str, status: int) -> bool:
    declared = responses(doc, template)
    keys = {str(k).upper() for k in declared}
    return str(status) in keys or f"{str(status)[0]}XX" in keys or "DEFAULT" in keys


def free_form_parameters(doc: dict[str, Any], params: dict[str, dict]) -> list[str]:
    """Parameters that admit any name (schema object with additionalProperties)."""
    names = []
    for name, p in params.items():
        schema = parameter_schema(doc, p)
        if schema.get("type") == "object" or schema.get("additionalProperties") not in (
            None,
            False,
        ):
            names.append(name)
    return names
