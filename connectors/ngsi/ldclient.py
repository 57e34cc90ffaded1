"""Small NGSI-LD client calls over one HttpEndpoint: the `ngsi-ld` connector and the NGSI ->
SensorThings sync (entities, history, subscriptions) share them.

Every call sends the tenant (`NGSILD-Tenant`) and the @context as a JSON-LD `Link` header
(6.3.5: GET and DELETE take it only from there; POST with `application/json` too). The
context URL is sent, never fetched: the broker expands short names with it. The endpoint's
base is the broker's root (`http://broker:1026`); paths are `/ngsi-ld/v1/...`.

A broker's ProblemDetails answer (`type`, `title`, `status`, `detail`) becomes a SourceError
naming its title and detail; a 404 for one entity is None.

Writes are sent once, never retried, and judged by whose fault: 404 is "no such entity"
(False), 409 AlreadyExists a SourceConflict, any other 4xx (and a 207 naming attributes
not changed) a SourceRefused with the broker's title and detail, a 5xx a SourceError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from connectors.errors import SourceConflict, SourceError, SourceRefused
from connectors.remote.http import HttpAnswer, HttpEndpoint

SDM_CONTEXT = "https://smartdatamodels.org/context.jsonld"
CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld"
LINK_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
API = "/ngsi-ld/v1"


@dataclass(frozen=True)
class LdTarget:
    """Whose entities, read with which @context (None: the broker's core context)."""

    tenant: str | None = None
    context: str | None = SDM_CONTEXT

    def headers(self, *, body: bool = False) -> dict[str, str]:
        out = {"Accept": "application/json"}
        if self.tenant:
            out["NGSILD-Tenant"] = self.tenant
        if self.context:
            out["Link"] = f"<{self.context}>; {LINK_REL}"
        if body:
            out["Content-Type"] = "application/json"
        return out


@dataclass(frozen=True)
class EntityPage:
    """One page of entities; `count` from `NGSILD-Results-Count` when asked (count=True)."""

    entities: list[dict[str, Any]]
    count: int | None = None


def query_string(params: Mapping[str, Any]) -> str:
    """Parameters URL-encoded whole (a `q` holds `;`, `|`, quotes and brackets); None left out."""
    items = [(k, _text(v)) for k, v in params.items() if v is not None]
    return urlencode(items, quote_via=quote, safe=",")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def problem_message(answer: HttpAnswer) -> str:
    """The broker's ProblemDetails as one line: `title: detail` (or the start of the body)."""
    try:
        doc = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and ("title" in doc or "detail" in doc):
        kind = str(doc.get("type", "")).rsplit("/", 1)[-1]
        parts = [str(doc[k]) for k in ("title", "detail") if doc.get(k)]
        return f"{kind} ({answer.status}): " + ": ".join(parts)
    return f"HTTP {answer.status}: {answer.content[:200].decode(errors='replace')}"


def _failed(answer: HttpAnswer, name: str, url: str) -> SourceError:
    message = problem_message(answer)
    # a ProblemDetails body is the protocol's; any other body (a proxy's page) is not shown
    public = f"HTTP {answer.status}" if message.startswith("HTTP ") else message[:300]
    return SourceError(f"{name}: the broker answered {message} ({url})", answer=public)


def _json(answer: HttpAnswer, name: str, url: str) -> Any:
    if answer.status >= 400:
        raise _failed(answer, name, url)
    try:
        return orjson.loads(answer.content) if answer.content else None
    except orjson.JSONDecodeError as e:
        raise SourceError(f"{name}: the broker's answer is not JSON: {e} ({url})") from None


def _count(answer: HttpAnswer, name: str) -> int | None:
    raw = answer.headers.get("NGSILD-Results-Count")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise SourceError(f"{name}: NGSILD-Results-Count is not a number: {raw[:40]!r}")
    return int(raw)


async def list_entities(
    endpoint: HttpEndpoint,
    target: LdTarget,
    params: Mapping[str, Any],
    *,
    limit: int = 100,
    offset: int = 0,
    count: bool = False,
) -> EntityPage:
    """One page of `GET /entities`. `params` are NGSI-LD query parameters as the spec names
    them (`type`, `id`, `idPattern`, `q`, `attrs`, `georel`, `geometry`, `coordinates`,
    `geoproperty`, `options`); `coordinates` may be a list (sent as JSON)."""
    return await _page(endpoint, target, "entities", params, limit, offset, count)


async def iter_entities(
    endpoint: HttpEndpoint,
    target: LdTarget,
    params: Mapping[str, Any],
    *,
    page_size: int = 100,
) -> AsyncIterator[dict[str, Any]]:
    """Every entity matching `params`, page by page (limit/offset) until a short page."""
    offset = 0
    while True:
        page = await list_entities(endpoint, target, params, limit=page_size, offset=offset)
        for entity in page.entities:
            yield entity
        if len(page.entities) < page_size:
            return
        offset += page_size


async def get_entity(
    endpoint: HttpEndpoint,
    target: LdTarget,
    entity_id: str,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """`GET /entities/{id}`; None when the broker has no such entity."""
    url = f"{endpoint.base}{API}/entities/{quote(entity_id, safe='')}"
    if params:
        url += "?" + query_string(params)
    answer = await endpoint.get(url, target.headers())
    if answer.status == 404:
        return None
    doc = _json(answer, endpoint.name, url)
    if not isinstance(doc, dict):
        raise SourceError(f"{endpoint.name}: the broker's entity is not an object ({url})")
    return doc


async def temporal_entities(
    endpoint: HttpEndpoint,
    target: LdTarget,
    params: Mapping[str, Any],
    *,
    limit: int = 100,
    offset: int = 0,
    count: bool = False,
) -> EntityPage:
    """One page of `GET /temporal/entities`: entities with their attributes' histories.
    `params` as for list_entities plus `timerel` (before|after|between), `timeAt`,
    `endTimeAt`, `lastN`, and `options=temporalValues` for [value, time] pairs."""
    return await _page(endpoint, target, "temporal/entities", params, limit, offset, count)


async def temporal_entity(
    endpoint: HttpEndpoint,
    target: LdTarget,
    entity_id: str,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """`GET /temporal/entities/{id}` (params: attrs, timerel, timeAt, endTimeAt, lastN)."""
    url = f"{endpoint.base}{API}/temporal/entities/{quote(entity_id, safe='')}"
    if params:
        url += "?" + query_string(params)
    answer = await endpoint.get(url, target.headers())
    if answer.status == 404:
        return None
    doc = _json(answer, endpoint.name, url)
    return doc if isinstance(doc, dict) else None


async def upsert_entities(
    endpoint: HttpEndpoint, target: LdTarget, entities: Iterable[Mapping[str, Any]]
) -> None:
    """`POST /entityOperations/upsert` (seed loading); any failed entity is a SourceError."""
    url = f"{endpoint.base}{API}/entityOperations/upsert"
    answer = await _post(endpoint, target, url, list(entities))
    if answer.status == 207:
        raise SourceError(f"{endpoint.name}: a batch upsert failed in part: {_errors(answer)}")
    _json(answer, endpoint.name, url)


async def create_subscription(
    endpoint: HttpEndpoint, target: LdTarget, subscription: Mapping[str, Any]
) -> str:
    """`POST /subscriptions`; the new subscription's id (from `Location`, or its own)."""
    url = f"{endpoint.base}{API}/subscriptions"
    answer = await _post(endpoint, target, url, dict(subscription))
    _json(answer, endpoint.name, url)
    location = answer.headers.get("Location", "")
    return location.rsplit("/", 1)[-1] if location else str(subscription.get("id", ""))


async def _page(
    endpoint: HttpEndpoint,
    target: LdTarget,
    path: str,
    params: Mapping[str, Any],
    limit: int,
    offset: int,
    count: bool,
) -> EntityPage:
    query = {**params, "limit": limit, "offset": offset or None, "count": count or None}
    if isinstance(query.get("coordinates"), list | tuple):
        query["coordinates"] = orjson.dumps(query["coordinates"]).decode()
    url = f"{endpoint.base}{API}/{path}?{query_string(query)}"
    answer = await endpoint.get(url, target.headers())
    doc = _json(answer, endpoint.name, url)
    if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
        raise SourceError(f"{endpoint.name}: the broker's answer is not a list of entities")
    return EntityPage(doc, _count(answer, endpoint.name) if count else None)


async def _post(endpoint: HttpEndpoint, target: LdTarget, url: str, body: Any) -> HttpAnswer:
    async with endpoint.stream(
        url, headers=target.headers(body=True), content=orjson.dumps(body)
    ) as stream:
        return HttpAnswer(stream.status, stream.headers, await stream.read())


def _entity_url(endpoint: HttpEndpoint, entity_id: str, tail: str = "") -> str:
    return f"{endpoint.base}{API}/entities/{quote(entity_id, safe='')}{tail}"


async def _write(
    endpoint: HttpEndpoint, target: LdTarget, method: str, url: str, body: Any = None
) -> bool:
    """One write; True when done, False when the broker has no such entity."""
    content = None if body is None else orjson.dumps(body)
    headers = target.headers(body=body is not None)
    answer = await endpoint.send(method, url, headers=headers, content=content)
    if answer.status == 207:
        raise SourceRefused(207, f"{endpoint.name}: the broker left out {_not_updated(answer)}")
    if answer.status < 300:
        return True
    if answer.status == 404:
        return False
    if answer.status >= 500:
        raise _failed(answer, endpoint.name, url)
    message = problem_message(answer)
    if answer.status == 409:
        raise SourceConflict(f"{endpoint.name}: {message}")
    raise SourceRefused(answer.status, f"{endpoint.name}: the broker answered {message}")


async def create_entity(
    endpoint: HttpEndpoint, target: LdTarget, entity: Mapping[str, Any]
) -> None:
    """`POST /entities`; SourceConflict when the id exists."""
    if not await _write(endpoint, target, "POST", f"{endpoint.base}{API}/entities", entity):
        raise SourceError(f"{endpoint.name}: the broker answered 404 to a create")


async def replace_entity(
    endpoint: HttpEndpoint, target: LdTarget, entity_id: str, entity: Mapping[str, Any]
) -> bool:
    """`PUT /entities/{id}` (Replace Entity, API 1.6.1+): the entity is the body."""
    return await _write(endpoint, target, "PUT", _entity_url(endpoint, entity_id), entity)


async def append_attrs(
    endpoint: HttpEndpoint, target: LdTarget, entity_id: str, attrs: Mapping[str, Any]
) -> bool:
    """`POST /entities/{id}/attrs`: these attributes replaced or added, the others kept
    (PATCH would skip one the entity lacks)."""
    url = _entity_url(endpoint, entity_id, "/attrs")
    return await _write(endpoint, target, "POST", url, attrs)


async def delete_attr(endpoint: HttpEndpoint, target: LdTarget, entity_id: str, name: str) -> bool:
    """`DELETE /entities/{id}/attrs/{name}`; False when the entity or attribute is absent."""
    url = _entity_url(endpoint, entity_id, f"/attrs/{quote(name, safe='')}")
    return await _write(endpoint, target, "DELETE", url)


async def delete_entity(endpoint: HttpEndpoint, target: LdTarget, entity_id: str) -> bool:
    """`DELETE /entities/{id}`."""
    return await _write(endpoint, target, "DELETE", _entity_url(endpoint, entity_id))


def _not_updated(answer: HttpAnswer) -> str:
    try:
        doc = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        doc = None
    missed = doc.get("notUpdated", []) if isinstance(doc, dict) else []
    return (
        "; ".join(
            f"{m.get('attributeName')}: {m.get('reason', '')}"[:200]
            for m in missed[:5]
            if isinstance(m, dict)
        )
        or "some attributes"
    )


def _errors(answer: HttpAnswer) -> str:
    try:
        doc = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return answer.content[:200].decode(errors="replace")
    errors = doc.get("errors", []) if isinstance(doc, dict) else []
    return "; ".join(
        f"{e.get('entityId')}: {(e.get('error') or {}).get('title', '')}"
        for e in errors[:5]
        if isinstance(e, dict)
    )


__all__ = [
    "CORE_CONTEXT",
    "SDM_CONTEXT",
    "EntityPage",
    "LdTarget",
    "append_attrs",
    "create_entity",
    "create_subscription",
    "delete_attr",
    "delete_entity",
    "get_entity",
    "iter_entities",
    "list_entities",
    "problem_message",
    "query_string",
    "replace_entity",
    "temporal_entities",
    "temporal_entity",
    "upsert_entities",
]
