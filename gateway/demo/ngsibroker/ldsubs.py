"""Subscriptions of the NGSI-LD test broker (5.2.12, 6.10-6.11) and the notifications they
send (5.3.1): when an entity that a subscription's `entities`, `watchedAttributes` and `q`
select is created or changed, the broker POSTs `{"type": "Notification", "subscriptionId",
"notifiedAt", "data": [entity]}` to the subscription's `notification.endpoint.uri`, with the
`receiverInfo` key/value pairs as headers (how a receiver authenticates the broker).

Sending is the broker's job: a URL given by the subscriber is called, in a background task
with a short timeout, never blocking the write that triggered it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.demo.ngsibroker import ldformat, ldquery
from gateway.demo.ngsibroker.ldcontext import Context
from gateway.demo.ngsibroker.ldhttp import answer, json_body, paging, read_context, tenant
from gateway.demo.ngsibroker.ldstore import LdError, Tenant, has_type, now

NOTIFY_TIMEOUT = 5.0
_tasks: set[asyncio.Task[None]] = set()


def _validate(body: Any, ctx: Context) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise LdError(400, "BadRequestData", "a subscription is a JSON object")
    if body.get("type", "Subscription") != "Subscription":
        raise LdError(400, "BadRequestData", "type must be Subscription")
    endpoint = (body.get("notification") or {}).get("endpoint") or {}
    uri = endpoint.get("uri")
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        raise LdError(400, "BadRequestData", "notification.endpoint.uri must be an http(s) URL")
    entities = body.get("entities")
    if entities is None and not body.get("watchedAttributes"):
        raise LdError(400, "BadRequestData", "a subscription needs entities or watchedAttributes")
    for selector in entities or []:
        if not isinstance(selector, dict) or not isinstance(selector.get("type"), str):
            raise LdError(400, "BadRequestData", "each entities item needs a type")
        if selector.get("idPattern") is not None:
            _compile(selector["idPattern"])
    if body.get("q"):
        try:
            ldquery.parse(body["q"])
        except ldquery.QueryError as e:
            raise LdError(400, "BadRequestData", str(e)) from None
    sub = {k: v for k, v in body.items() if k != "@context"}
    sub.setdefault("id", f"urn:ngsi-ld:Subscription:{uuid.uuid4()}")
    sub["type"] = "Subscription"
    sub.setdefault("isActive", True)
    sub.setdefault("status", "active")
    sub["_context"] = ctx
    return sub


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise LdError(400, "BadRequestData", f"idPattern: {e}") from None


def _public(sub: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sub.items() if not k.startswith("_")}


async def create(request: Request) -> Response:
    body = await json_body(request)
    ctx = read_context(request, body)
    owner = tenant(request, create=True)
    sub = _validate(body, ctx)
    if sub["id"] in owner.subscriptions:
        raise LdError(409, "AlreadyExists", f"subscription {sub['id']} already exists")
    owner.subscriptions[sub["id"]] = sub
    location = f"/ngsi-ld/v1/subscriptions/{sub['id']}"
    return Response(status_code=201, headers={"Location": location})


async def listing(request: Request) -> Response:
    owner = tenant(request)
    limit, offset, count = paging(request)
    subs = [_public(s) for s in owner.subscriptions.values()]
    headers = {"NGSILD-Results-Count": str(len(subs))} if count else None
    return answer(request, subs[offset : offset + limit], read_context(request), headers=headers)


def _find(request: Request) -> tuple[Tenant, dict[str, Any]]:
    owner = tenant(request)
    sub = owner.subscriptions.get(request.path_params["sub_id"])
    if sub is None:
        raise LdError(404, "ResourceNotFound", "no such subscription")
    return owner, sub


async def read(request: Request) -> Response:
    return answer(request, _public(_find(request)[1]), read_context(request))


async def update(request: Request) -> Response:
    body = await json_body(request)
    ctx = read_context(request, body)
    owner, sub = _find(request)
    if not isinstance(body, dict):
        raise LdError(400, "BadRequestData", "a subscription fragment is a JSON object")
    merged = _validate({**_public(sub), **body, "id": sub["id"]}, ctx)
    owner.subscriptions[sub["id"]] = merged
    return Response(status_code=204)


async def delete(request: Request) -> Response:
    owner, sub = _find(request)
    del owner.subscriptions[sub["id"]]
    return Response(status_code=204)


def _selects(sub: dict[str, Any], entity: dict[str, Any], watched: set[str] | None) -> bool:
    ctx: Context = sub["_context"]
    if not sub.get("isActive", True):
        return False
    selectors = sub.get("entities") or []
    if selectors and not any(_selector(s, entity, ctx) for s in selectors):
        return False
    names = {ctx.expand(a) for a in sub.get("watchedAttributes") or []}
    if names and watched is not None and not names & watched:
        return False
    if names and watched is None and not any(n in entity for n in names):
        return False
    query = sub.get("q")
    return not query or ldquery.matches(ldquery.parse(query), entity, ctx.expand)


def _selector(selector: dict[str, Any], entity: dict[str, Any], ctx: Context) -> bool:
    if not has_type(entity, {ctx.expand(selector["type"])}):
        return False
    if selector.get("id") and selector["id"] != entity["id"]:
        return False
    pattern = selector.get("idPattern")
    return not pattern or _compile(pattern).search(entity["id"]) is not None


async def changed(
    request: Request, owner: Tenant, entity: dict[str, Any], watched: set[str] | None
) -> None:
    """Notify every subscription selecting this change (`watched`: the changed attribute
    IRIs; None: the entity is new or replaced)."""
    for sub in list(owner.subscriptions.values()):
        if _selects(sub, entity, watched):
            task = asyncio.get_running_loop().create_task(
                _send(sub, entity, request.headers.get("NGSILD-Tenant"))
            )
            _tasks.add(task)
            task.add_done_callback(_tasks.discard)


async def _send(sub: dict[str, Any], entity: dict[str, Any], tenant_name: str | None) -> None:
    ctx: Context = sub["_context"]
    notification = sub["notification"]
    representation = notification.get("format", "normalized")
    if representation not in ldformat.REPRESENTATIONS:
        representation = "normalized"
    attrs = notification.get("attributes")
    data = ldformat.entity(
        entity,
        ctx,
        representation,
        attrs={ctx.expand(a) for a in attrs} if attrs else None,
    )
    stamp = now()
    body = {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
        "type": "Notification",
        "subscriptionId": sub["id"],
        "notifiedAt": stamp,
        "data": [data],
    }
    endpoint = notification["endpoint"]
    headers = {"Content-Type": "application/json", "Link": ldformat.link_header(ctx)}
    if tenant_name:
        headers["NGSILD-Tenant"] = tenant_name
    for pair in endpoint.get("receiverInfo") or []:
        if isinstance(pair, dict) and isinstance(pair.get("key"), str):
            headers[pair["key"]] = str(pair.get("value", ""))
    status = notification.setdefault("status", "ok")
    try:
        async with httpx.AsyncClient(timeout=NOTIFY_TIMEOUT) as client:
            reply = await client.post(endpoint["uri"], content=orjson.dumps(body), headers=headers)
        status = "ok" if reply.status_code < 400 else "failed"
    except httpx.HTTPError:
        status = "failed"
    notification["status"] = status
    notification["timesSent"] = notification.get("timesSent", 0) + 1
    notification["lastNotification"] = stamp
    notification["lastSuccess" if status == "ok" else "lastFailure"] = stamp


ROUTES = [
    ("/subscriptions", create, ["POST"]),
    ("/subscriptions", listing, ["GET"]),
    ("/subscriptions/{sub_id}", read, ["GET"]),
    ("/subscriptions/{sub_id}", update, ["PATCH"]),
    ("/subscriptions/{sub_id}", delete, ["DELETE"]),
]

__all__ = ["ROUTES", "changed"]
