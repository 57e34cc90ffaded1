"""JSON Patch (RFC 6902) on an entity, for `PATCH` with `application/json-patch+json` (how
frost-sta-client patches): the operations apply to the entity as GET shows it, and the
result is written back like a PATCH with all its properties."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from gateway.sensorthings.errors import Conflict, InvalidBody
from gateway.sensorthings.model import EntityType


def _tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise InvalidBody(f"JSON Patch: '{pointer}' is not a JSON pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _parent(doc: Any, tokens: list[str]) -> tuple[Any, str]:
    if not tokens:
        raise InvalidBody("JSON Patch: the whole entity cannot be replaced")
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise Conflict(f"JSON Patch: path '/{'/'.join(tokens)}' does not exist")
    return node, tokens[-1]


def _get(doc: Any, tokens: list[str]) -> Any:
    parent, key = _parent(doc, tokens)
    if isinstance(parent, dict) and key in parent:
        return parent[key]
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent[int(key)]
    raise Conflict(f"JSON Patch: path '/{'/'.join(tokens)}' does not exist")


def _add(doc: Any, tokens: list[str], value: Any) -> None:
    parent, key = _parent(doc, tokens)
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list):
        parent.insert(len(parent) if key == "-" else int(key), value)
    else:
        raise Conflict("JSON Patch: cannot add below a plain value")


def _remove(doc: Any, tokens: list[str]) -> Any:
    value = _get(doc, tokens)
    parent, key = _parent(doc, tokens)
    if isinstance(parent, dict):
        del parent[key]
    else:
        del parent[int(key)]
    return value


def apply_patch(etype: EntityType, current: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    doc = orjson.loads(orjson.dumps(current))
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise InvalidBody("JSON Patch: each operation needs 'op' and 'path'")
        tokens, name = _tokens(op["path"]), op["op"]
        if name == "add":
            _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif name == "remove":
            _remove(doc, tokens)
        elif name == "replace":
            _get(doc, tokens)
            _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif name in ("move", "copy"):
            source = _tokens(op.get("from"))
            value = _remove(doc, source) if name == "move" else copy.deepcopy(_get(doc, source))
            _add(doc, tokens, value)
        elif name == "test":
            if _get(doc, tokens) != op.get("value"):
                raise Conflict(f"JSON Patch: test failed at '{op['path']}'")
        else:
            raise InvalidBody(f"JSON Patch: unknown operation '{name}'")
    return {k: v for k, v in doc.items() if k in etype.prop and not etype.prop[k].computed}
