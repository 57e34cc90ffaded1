"""Subscriptions (`/v2/subscriptions` CRUD) and the notifications they send.

When an entity is created or changed, every active subscription of its tenant whose
`subject.entities` names it (id/idPattern, type/typePattern), whose `condition.attrs`
meets a touched attribute (empty: any) and whose `condition.expression` (q, mq, geo-query)
holds, gets one notification: `POST` to `notification.http.url` (or `httpCustom.url`, with
its `headers`/`qs`/`method`) of `{"subscriptionId", "data": [entity]}` in its `attrsFormat`,
with `Ngsiv2-AttrsFormat`, `Fiware-Service` and `Fiware-ServicePath`. Sending to the URL the
subscription names is this broker's job; it happens in background tasks, counted in
`timesSent`, `lastSuccess`/`lastFailure`. `expires`, `throttling` (seconds) and
`onlyChangedAttrs` are honoured; `alterationTypes`, MQTT and initial notifications are not
(Orion ≥ 3.1 sends none).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.demo.ngsibroker.store import BrokerError, Entity, bad_request, render_time
from gateway.demo.ngsibroker.v2common import (
    Json,
    guarded,
    json_body,
    json_object,
    no_content,
    options,
    paging,
    tenant,
)
from gateway.demo.ngsibroker.v2query import parse_datetime
from gateway.demo.ngsibroker.v2search import matches, render, search_of

log = logging.getLogger("twinbridge.ngsibroker")
FORMATS = ("normalized", "keyValues", "values", "simplifiedNormalized", "simplifiedKeyValues")


def _subject_matches(sub: dict[str, Any], entity: Entity) -> bool:
    for item in sub.get("subject", {}).get("entities", []):
        try:
            search = search_of(
                {k: v for k, v in item.items() if k in ("id", "idPattern", "type", "typePattern")}
            )
        except BrokerError:
            continue
        if matches(entity, search):
            return True
    return False


def _expired(sub: dict[str, Any], now: float) -> bool:
    stamp = parse_datetime(sub["expires"]) if isinstance(sub.get("expires"), str) else None
    return stamp is not None and stamp <= now


def _throttled(sub: dict[str, Any], now: float) -> bool:
    last = sub.get("_sent_at")
    return last is not None and now - last < float(sub.get("throttling") or 0)


def _fires(sub: dict[str, Any], entity: Entity, touched: set[str]) -> bool:
    """Active, not expired, not within its throttling, its subject and condition met."""
    now = time.time()
    if sub.get("status", "active") != "active" or _expired(sub, now) or _throttled(sub, now):
        return False
    if not _subject_matches(sub, entity):
        return False
    condition = sub.get("subject", {}).get("condition", {}) or {}
    watched = condition.get("attrs") or []
    if watched and not set(watched) & touched:
        return False
    expression = condition.get("expression")
    if expression:
        try:
            return matches(entity, search_of({}, expression))
        except BrokerError:
            return False
    return True


def _payload(sub: dict[str, Any], entity: Entity, touched: set[str]) -> tuple[Any, str]:
    notification = sub.get("notification", {})
    fmt = notification.get("attrsFormat", "normalized")
    attrs = notification.get("attrs") or None
    if notification.get("exceptAttrs"):
        attrs = [n for n in entity.attrs if n not in notification["exceptAttrs"]]
    if notification.get("onlyChangedAttrs"):
        attrs = [n for n in (attrs or list(entity.attrs)) if n in touched]
    mode = {"simplifiedKeyValues": "keyValues", "simplifiedNormalized": "normalized"}.get(fmt, fmt)
    doc = render(entity, mode, attrs, notification.get("metadata") or None)
    if fmt.startswith("simplified"):
        return doc, fmt
    return {"subscriptionId": sub["id"], "data": [doc]}, fmt


class Notifier:
    """Sends notifications in the background with one pooled client."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def changed(
        self, service: str, subs: dict[str, dict[str, Any]], entity: Entity, touched: set[str]
    ) -> None:
        for sub in list(subs.values()):
            if _fires(sub, entity, touched):
                sub["_sent_at"] = time.time()
                task = asyncio.ensure_future(self._send(service, sub, entity, touched))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send(
        self, service: str, sub: dict[str, Any], entity: Entity, touched: set[str]
    ) -> None:
        notification = sub.setdefault("notification", {})
        body, fmt = _payload(sub, entity, touched)
        custom = notification.get("httpCustom")
        target = custom or notification.get("http") or {}
        headers = {"Ngsiv2-AttrsFormat": fmt, "Fiware-ServicePath": entity.service_path}
        if service:
            headers["Fiware-Service"] = service
        headers.update((custom or {}).get("headers") or {})
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0)
        notification["timesSent"] = notification.get("timesSent", 0) + 1
        notification["lastNotification"] = render_time(entity.modified)
        try:
            answer = await self._client.request(
                (custom or {}).get("method", "POST"),
                target.get("url", ""),
                json=body,
                headers=headers,
                params=(custom or {}).get("qs") or None,
            )
        except (httpx.HTTPError, ValueError) as e:
            notification["lastFailure"] = render_time(entity.modified)
            notification["lastFailureReason"] = type(e).__name__
            log.info("notification of %s failed: %s", sub["id"], e)
            return
        key = "lastSuccess" if answer.status_code < 400 else "lastFailure"
        notification[key] = render_time(entity.modified)
        notification["lastSuccessCode" if key == "lastSuccess" else "lastFailureCode"] = (
            answer.status_code
        )


def _check(doc: dict[str, Any]) -> None:
    subject, notification = doc.get("subject"), doc.get("notification")
    if not isinstance(subject, dict) or not isinstance(subject.get("entities"), list):
        raise bad_request("subject.entities is missing")
    if not isinstance(notification, dict):
        raise bad_request("notification is missing")
    target = notification.get("http") or notification.get("httpCustom")
    if not isinstance(target, dict) or not str(target.get("url", "")).startswith("http"):
        raise bad_request("notification needs http or httpCustom with an url")
    if notification.get("attrsFormat", "normalized") not in FORMATS:
        raise bad_request("invalid attrsFormat")
    expression = (subject.get("condition") or {}).get("expression")
    if expression:
        search_of({}, expression)  # 400 for a malformed q or geo-query


def _render(sub: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in sub.items() if not k.startswith("_")}
    notification = dict(doc.get("notification", {}))
    notification.setdefault("attrsFormat", "normalized")
    notification.setdefault("attrs", [])
    notification.setdefault("onlyChangedAttrs", False)
    notification.setdefault("covered", False)
    doc["notification"] = notification
    doc.setdefault("status", "active")
    if doc["status"] == "active" and _expired(sub, time.time()):
        doc["status"] = "expired"
    return doc


@guarded
async def list_subscriptions(request: Request) -> Response:
    limit, offset = paging(request)
    subs = list(tenant(request).subscriptions.values())
    headers = {"Fiware-Total-Count": str(len(subs))} if "count" in options(request) else None
    return Json([_render(s) for s in subs[offset : offset + limit]], headers=headers)


@guarded
async def create_subscription(request: Request) -> Response:
    doc = json_object(await json_body(request))
    options(request)
    _check(doc)
    sub_id = secrets.token_hex(12)
    doc = {**doc, "id": sub_id}
    doc["notification"] = {**doc["notification"], "timesSent": 0}
    tenant(request).subscriptions[sub_id] = doc
    return Response(status_code=201, headers={"Location": f"/v2/subscriptions/{sub_id}"})


def _find(request: Request) -> dict[str, Any]:
    found = tenant(request).subscriptions.get(request.path_params["sub_id"])
    if found is None:
        raise BrokerError(
            404, "NotFound", "The requested subscription has not been found. Check id"
        )
    return found


@guarded
async def get_subscription(request: Request) -> Response:
    return Json(_render(_find(request)))


@guarded
async def update_subscription(request: Request) -> Response:
    found = _find(request)
    patch = json_object(await json_body(request))
    merged = {**found, **{k: v for k, v in patch.items() if k != "id"}}
    _check(merged)
    found.clear()
    found.update(merged)
    return no_content()


@guarded
async def delete_subscription(request: Request) -> Response:
    _find(request)
    del tenant(request).subscriptions[request.path_params["sub_id"]]
    return no_content()


def routes() -> list[Route]:
    return [
        Route("/v2/subscriptions", list_subscriptions, methods=["GET"]),
        Route("/v2/subscriptions", create_subscription, methods=["POST"]),
        Route("/v2/subscriptions/", list_subscriptions, methods=["GET"]),
        Route("/v2/subscriptions/", create_subscription, methods=["POST"]),
        Route("/v2/subscriptions/{sub_id}", get_subscription, methods=["GET"]),
        Route("/v2/subscriptions/{sub_id}", update_subscription, methods=["PATCH"]),
        Route("/v2/subscriptions/{sub_id}", delete_subscription, methods=["DELETE"]),
    ]


__all__ = ["Notifier", "routes"]
