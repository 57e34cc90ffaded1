"""The subscription a source keeps at its broker, and the notifications it sends back.

At start-up (and after a failure, at the next run) the gateway makes sure the broker holds
one subscription per source whose notification URL is the configured `notify_url` and which
carries the shared secret as a header: NGSI-v2 `notification.httpCustom.headers`, NGSI-LD
`notification.endpoint.receiverInfo`. It is found again by its description (v2) or its
fixed id (LD), kept when it is as configured, and replaced when not (a new URL or secret),
so restarts do not pile subscriptions up.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import orjson

from connectors.errors import SourceError
from connectors.ngsi import ldclient, v2client
from gateway.sensorthings.sync.ngsi import NgsiSource


class NotificationError(ValueError):
    """A notification body that is not one (answered 400)."""


def secret(source: NgsiSource) -> str | None:
    sub = source.cfg.subscription
    return os.environ.get(sub.secret_env) or None if sub is not None else None


def description(source: NgsiSource) -> str:
    return f"TwinBridge sync {source.label}"


def v2_subscription(source: NgsiSource, shared: str) -> dict[str, Any]:
    sub = source.cfg.subscription
    assert sub is not None
    body: dict[str, Any] = {
        "description": description(source),
        "subject": {"entities": [{"idPattern": ".*", "type": t} for t in source.cfg.types]},
        "notification": {
            "httpCustom": {"url": sub.notify_url, "headers": {sub.secret_header: shared}},
            "attrsFormat": "normalized",
            "attrs": ["dateModified", "*"],  # the builtin dates values without dateObserved
        },
    }
    if sub.throttling:
        body["throttling"] = sub.throttling
    return body


def ld_subscription(source: NgsiSource, shared: str) -> dict[str, Any]:
    sub = source.cfg.subscription
    assert sub is not None
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Subscription:twinbridge:{source.tenant}:{source.cfg.name}",
        "type": "Subscription",
        "description": description(source),
        "entities": [{"type": t} for t in source.cfg.types],
        "notification": {
            "format": "normalized",
            "endpoint": {
                "uri": sub.notify_url,
                "accept": "application/json",
                "receiverInfo": [{"key": sub.secret_header, "value": shared}],
            },
        },
    }
    if sub.throttling:
        body["throttling"] = sub.throttling
    return body


def _same_v2(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    have, want = found.get("notification") or {}, wanted["notification"]
    subject = found.get("subject") or {}
    return (
        have.get("httpCustom", {}).get("url") == want["httpCustom"]["url"]
        and have.get("httpCustom", {}).get("headers") == want["httpCustom"]["headers"]
        and have.get("attrsFormat", "normalized") == "normalized"
        and sorted(e.get("type", "") for e in subject.get("entities", []))
        == sorted(source_type["type"] for source_type in wanted["subject"]["entities"])
        and found.get("status", "active") == "active"
    )


async def ensure(source: NgsiSource) -> str:
    """Create the source's subscription unless the broker holds it already; its id."""
    shared = secret(source)
    if shared is None:
        sub = source.cfg.subscription
        env = sub.secret_env if sub else "?"
        raise SourceError(f"{source.label}: the environment variable {env} holds no secret")
    await source.open()
    if source.is_ld:
        return await _ensure_ld(source, ld_subscription(source, shared))
    return await _ensure_v2(source, v2_subscription(source, shared))


async def _ensure_v2(source: NgsiSource, wanted: dict[str, Any]) -> str:
    endpoint, headers = source.endpoint, source.v2_headers
    answer = await endpoint.get(f"{endpoint.base}/v2/subscriptions?limit=1000", headers)
    if answer.status >= 400:
        raise v2client.broker_error(answer.status, answer.content, endpoint.name, "subs")
    found = orjson.loads(answer.content) if answer.content.strip() else []
    kept: str | None = None
    for sub in found if isinstance(found, list) else []:
        if not isinstance(sub, dict) or sub.get("description") != wanted["description"]:
            continue
        if kept is None and _same_v2(sub, wanted):
            kept = str(sub.get("id", ""))
            continue
        # not as configured, or a second one (two workers that started at once)
        await _delete(source, f"/v2/subscriptions/{quote(str(sub.get('id', '')), safe='')}")
    return kept or await v2client.create_subscription(endpoint, wanted, headers)


async def _ensure_ld(source: NgsiSource, wanted: dict[str, Any]) -> str:
    endpoint, target = source.endpoint, source.ld_target
    sid = wanted["id"]
    url = f"{endpoint.base}{ldclient.API}/subscriptions/{quote(sid, safe='')}"
    answer = await endpoint.get(url, target.headers())
    if answer.status < 300:
        have = orjson.loads(answer.content) if answer.content.strip() else {}
        point = (have.get("notification") or {}).get("endpoint") or {}
        want = wanted["notification"]["endpoint"]
        types = sorted(e.get("type", "") for e in have.get("entities") or [])
        if (
            point.get("uri") == want["uri"]
            and point.get("receiverInfo") == want["receiverInfo"]
            and types == sorted(source.cfg.types)
        ):
            return sid
        await _delete(source, f"{ldclient.API}/subscriptions/{quote(sid, safe='')}")
    elif answer.status != 404:
        message = ldclient.problem_message(answer)
        raise SourceError(f"{endpoint.name}: the broker answered {message} ({url})")
    return await ldclient.create_subscription(endpoint, target, wanted)


async def _delete(source: NgsiSource, path: str) -> None:
    """DELETE below the broker's root (a subscription that is no longer as configured)."""
    endpoint = source.endpoint
    headers = source.ld_target.headers() if source.is_ld else source.v2_headers
    status = await endpoint.delete(f"{endpoint.base}{path}", headers)
    if status >= 400 and status != 404:
        raise SourceError(f"{endpoint.name}: DELETE {path} answered {status}")


def notified_entities(body: bytes) -> list[dict[str, Any]]:
    """The entities of a v2 (`{"subscriptionId", "data"}`) or LD (`{"type": "Notification",
    "data"}`) notification; NotificationError for anything else."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise NotificationError(f"the notification is not JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise NotificationError("a notification is an object with a 'data' array")
    if doc.get("type", "Notification") != "Notification":
        raise NotificationError("an NGSI-LD notification has type Notification")
    data = doc["data"]
    if not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in data):
        raise NotificationError("each notified entity is an object with an 'id'")
    return data
