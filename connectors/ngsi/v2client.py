"""Small calls to an NGSI-v2 broker (Orion's API), shared by the `ngsi-v2` connector and
the NGSI -> SensorThings sync: one place that knows the paths, the tenant headers, the
paging limits and how the broker's error body reads.

Every call goes through an open `HttpEndpoint` whose base is the broker's root (the URL
before `/v2`); `headers` carry the tenant (`service_headers`) and are sent with each call.
An error answer becomes `SourceError` naming the broker's `error` and `description`.

Writes (create, replace, append, delete) are sent once, never retried. Their answers are
judged by whose fault: 404 is "no such entity" (False), 422 `Already Exists` and 409
(`TooManyResults`: the id is ambiguous) a SourceConflict, any other 4xx a SourceRefused
with the broker's error text, a 5xx a SourceError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from connectors.errors import SourceConflict, SourceError, SourceRefused
from connectors.remote.http import HttpAnswer, HttpEndpoint

MAX_LIMIT = 1000  # Orion answers 400 beyond it
TOTAL_COUNT = "fiware-total-count"
Entity = dict[str, Any]


def service_headers(service: str | None, service_path: str | None) -> dict[str, str]:
    """The tenant headers: `Fiware-Service` (Orion lower-cases it) and
    `Fiware-ServicePath` (absent: the broker queries `/#`, everything)."""
    headers: dict[str, str] = {}
    if service:
        headers["Fiware-Service"] = service.lower()
    if service_path:
        headers["Fiware-ServicePath"] = service_path
    return headers


def broker_error(status: int, body: bytes, name: str, what: str) -> SourceError:
    """The broker's `{"error", "description"}` body as a SourceError naming both."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and "error" in doc:
        error = str(doc.get("error"))[:100]
        description = str(doc.get("description", ""))[:300]
        return SourceError(
            f"{name}: the broker answered {status} {error}: {description} ({what})",
            answer=f"{status} {error}: {description}",
        )
    return SourceError(f"{name}: the broker answered {status} ({what})")


def _json(answer: HttpAnswer, name: str, what: str) -> Any:
    if answer.status >= 400:
        raise broker_error(answer.status, answer.content, name, what)
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError as e:
        raise SourceError(f"{name}: the broker's answer is not JSON: {e} ({what})") from None


def entities_url(endpoint: HttpEndpoint, params: Mapping[str, str]) -> str:
    query = urlencode(sorted(params.items()), quote_via=quote, safe=",")  # `;` of q encoded
    return f"{endpoint.base}/v2/entities" + (f"?{query}" if query else "")


async def list_entities(
    endpoint: HttpEndpoint, params: Mapping[str, str], headers: Mapping[str, str]
) -> tuple[list[Entity], int | None]:
    """One page of `GET /v2/entities` with `params` as given (type, q, georel, orderBy,
    limit ≤ 1000, offset, options …): the entities and, when `options` holds `count`, the
    broker's `Fiware-Total-Count` (else None)."""
    url = entities_url(endpoint, params)
    answer = await endpoint.get(url, headers)
    doc = _json(answer, endpoint.name, "GET /v2/entities")
    if not isinstance(doc, list):
        raise SourceError(f"{endpoint.name}: the broker's entity list is not a JSON array")
    total = answer.headers.get(TOTAL_COUNT)
    count = int(total) if total and total.isdigit() else None
    return [e for e in doc if isinstance(e, dict)], count


async def iter_entities(
    endpoint: HttpEndpoint,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    page_size: int = MAX_LIMIT,
    limit: int | None = None,
) -> AsyncIterator[Entity]:
    """Every entity matching `params`, page by page (`offset`/`limit` set here; give an
    `orderBy` for a stable order), up to `limit` entities when given."""
    offset, size = int(params.get("offset", 0)), max(1, min(page_size, MAX_LIMIT))
    served = 0
    while limit is None or served < limit:
        want = size if limit is None else min(size, limit - served)
        page, _ = await list_entities(
            endpoint, {**params, "offset": str(offset), "limit": str(want)}, headers
        )
        for entity in page:
            yield entity
        served += len(page)
        offset += len(page)
        if len(page) < want:
            return


async def get_entity(
    endpoint: HttpEndpoint,
    entity_id: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
) -> Entity | None:
    """`GET /v2/entities/{id}` (give `type` in `params` where ids repeat across types);
    None when the broker does not know it."""
    query = urlencode(sorted((params or {}).items()), quote_via=quote, safe=",")
    url = f"{endpoint.base}/v2/entities/{quote(entity_id, safe='')}"
    url += f"?{query}" if query else ""
    answer = await endpoint.get(url, headers)
    if answer.status == 404:
        return None
    doc = _json(answer, endpoint.name, "GET /v2/entities/{id}")
    if not isinstance(doc, dict):
        raise SourceError(f"{endpoint.name}: the broker's entity is not a JSON object")
    return doc


async def entity_type(
    endpoint: HttpEndpoint, type_name: str, headers: Mapping[str, str]
) -> dict[str, Any] | None:
    """`GET /v2/types/{type}`: `{"attrs": {name: {"types": [...]}}, "count": n}`, or None."""
    url = f"{endpoint.base}/v2/types/{quote(type_name, safe='')}"
    answer = await endpoint.get(url, headers)
    if answer.status == 404:
        return None
    doc = _json(answer, endpoint.name, "GET /v2/types/{type}")
    return doc if isinstance(doc, dict) else None


async def post_json(
    endpoint: HttpEndpoint, path: str, body: Any, headers: Mapping[str, str]
) -> tuple[int, Mapping[str, str], Any]:
    """POST a JSON body below the broker's root (e.g. `/v2/subscriptions`): status,
    headers and the parsed answer (None when empty). Error answers raise SourceError."""
    url = f"{endpoint.base}{path}"
    sent = {**headers, "Content-Type": "application/json"}
    async with endpoint.stream(url, headers=sent, content=orjson.dumps(body)) as stream:
        content = await stream.read()
        status, answer_headers = stream.status, stream.headers
    if status >= 400:
        raise broker_error(status, content, endpoint.name, f"POST {path}")
    return status, answer_headers, orjson.loads(content) if content.strip() else None


async def create_subscription(
    endpoint: HttpEndpoint, subscription: Mapping[str, Any], headers: Mapping[str, str]
) -> str:
    """`POST /v2/subscriptions`; the new subscription's id (from the Location header)."""
    _, answer_headers, _ = await post_json(endpoint, "/v2/subscriptions", subscription, headers)
    location = answer_headers.get("location", "")
    return location.rstrip("/").rsplit("/", 1)[-1]


def _entity_url(endpoint: HttpEndpoint, entity_id: str, entity_type: str, tail: str = "") -> str:
    query = urlencode({"type": entity_type}, quote_via=quote)
    return f"{endpoint.base}/v2/entities/{quote(entity_id, safe='')}{tail}?{query}"


async def _write(
    endpoint: HttpEndpoint,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: Any = None,
) -> bool:
    """One write; True when done, False when the broker knows no such entity."""
    sent = dict(headers)
    content = None
    if body is not None:
        sent["Content-Type"] = "application/json"
        content = orjson.dumps(body)
    answer = await endpoint.send(method, url, headers=sent, content=content)
    if answer.status < 300:
        return True
    if answer.status == 404:
        return False
    what = f"{method} {url.removeprefix(endpoint.base).split('?')[0]}"
    failure = broker_error(answer.status, answer.content, endpoint.name, what)
    if answer.status >= 500:
        raise failure
    said = failure.answer or f"{answer.status}"
    if answer.status == 409 or (answer.status == 422 and "Already Exists" in said):
        raise SourceConflict(f"{endpoint.name}: {said}")
    raise SourceRefused(answer.status, f"{endpoint.name}: the broker answered {said}")


async def create_entity(
    endpoint: HttpEndpoint, entity: Mapping[str, Any], headers: Mapping[str, str]
) -> None:
    """`POST /v2/entities` (normalized); SourceConflict when the id and type exist."""
    if not await _write(endpoint, "POST", f"{endpoint.base}/v2/entities", headers, entity):
        raise SourceError(f"{endpoint.name}: the broker answered 404 to a create")


async def replace_attrs(
    endpoint: HttpEndpoint,
    entity_id: str,
    entity_type: str,
    attrs: Mapping[str, Any],
    headers: Mapping[str, str],
) -> bool:
    """`PUT /v2/entities/{id}/attrs`: the attributes are these, every other one goes."""
    url = _entity_url(endpoint, entity_id, entity_type, "/attrs")
    return await _write(endpoint, "PUT", url, headers, attrs)


async def append_attrs(
    endpoint: HttpEndpoint,
    entity_id: str,
    entity_type: str,
    attrs: Mapping[str, Any],
    headers: Mapping[str, str],
) -> bool:
    """`POST /v2/entities/{id}/attrs`: these attributes updated or added, the others kept
    (PATCH would refuse, 422, an attribute the entity lacks)."""
    url = _entity_url(endpoint, entity_id, entity_type, "/attrs")
    return await _write(endpoint, "POST", url, headers, attrs)


async def delete_entity(
    endpoint: HttpEndpoint, entity_id: str, entity_type: str, headers: Mapping[str, str]
) -> bool:
    """`DELETE /v2/entities/{id}?type=…`."""
    return await _write(endpoint, "DELETE", _entity_url(endpoint, entity_id, entity_type), headers)


__all__ = [
    "MAX_LIMIT",
    "Entity",
    "append_attrs",
    "broker_error",
    "create_entity",
    "create_subscription",
    "delete_entity",
    "entities_url",
    "entity_type",
    "get_entity",
    "iter_entities",
    "list_entities",
    "post_json",
    "replace_attrs",
    "service_headers",
]
