"""The temporal API of the NGSI-LD test broker (5.7.3, 5.7.4, 6.18-6.19): the history of the
Property values that carried an `observedAt`, as the store kept it.

`GET /temporal/entities` selects entities like `GET /entities` (type, id, idPattern, q,
attrs, geo-query; q and geo over their present state) and gives each selected attribute as
the list of its instances in time order, narrowed by:
- `timerel=before` (observedAt < timeAt), `after` (observedAt > timeAt) or `between`
  (timeAt <= observedAt < endTimeAt); timerel needs timeAt, between needs endTimeAt;
- `lastN`: only the last N instances of each attribute (still in time order);
- `options=temporalValues`: an attribute is `{"type", "values": [[value, observedAt], …]}`.
Paging and `count=true` page through entities as `GET /entities` does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.demo.ngsibroker.ldcontext import Context
from gateway.demo.ngsibroker.ldhttp import (
    answer,
    int_param,
    names,
    paging,
    read_context,
    store,
    tenant,
)
from gateway.demo.ngsibroker.ldselect import selection
from gateway.demo.ngsibroker.ldstore import LdError, Tenant

Window = tuple[datetime | None, datetime | None, bool]  # start, end, start inclusive


def _instant(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise LdError(400, "BadRequestData", f"{name} is not a DateTime") from None


def window(request: Request) -> Window:
    params = request.query_params
    timerel = params.get("timerel")
    time_at = _instant(params.get("timeAt"), "timeAt")
    end = _instant(params.get("endTimeAt"), "endTimeAt")
    if timerel is None:
        if time_at is not None or end is not None:
            raise LdError(400, "BadRequestData", "timeAt needs timerel")
        return None, None, True
    if time_at is None:
        raise LdError(400, "BadRequestData", "timerel needs timeAt")
    if timerel == "before":
        return None, time_at, True
    if timerel == "after":
        return time_at, None, False
    if timerel == "between":
        if end is None:
            raise LdError(400, "BadRequestData", "timerel=between needs endTimeAt")
        return time_at, end, True
    raise LdError(400, "BadRequestData", "timerel must be before, after or between")


def _within(observed: str, span: Window) -> bool:
    start, end, inclusive = span
    moment = datetime.fromisoformat(observed.replace("Z", "+00:00"))
    if start is not None and (moment < start or (moment == start and not inclusive)):
        return False
    return end is None or moment < end


def temporal_entity(
    owner: Tenant,
    entity: dict[str, Any],
    ctx: Context,
    attrs: set[str] | None,
    span: Window,
    last_n: int | None,
    values: bool,
) -> dict[str, Any]:
    kind = entity["type"]
    out: dict[str, Any] = {
        "id": entity["id"],
        "type": [ctx.compact(k) for k in kind] if isinstance(kind, list) else ctx.compact(kind),
    }
    for (entity_id, name), instances in owner.history.items():
        if entity_id != entity["id"] or (attrs is not None and name not in attrs):
            continue
        kept = [i for i in instances if _within(i["observedAt"], span)]
        kept.sort(key=lambda i: i["observedAt"])
        if last_n is not None:
            kept = kept[-last_n:] if last_n else []
        if not kept:
            continue
        if values:
            out[ctx.compact(name)] = {
                "type": "Property",
                "values": [[i.get("value"), i["observedAt"]] for i in kept],
            }
        else:
            out[ctx.compact(name)] = [
                {**_instance(i), "instanceId": f"urn:ngsi-ld:attribute:instance:{n}"}
                for n, i in enumerate(kept)
            ]
    return out


def _instance(instance: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in instance.items() if k not in ("modifiedAt", "createdAt")}


def _options(request: Request) -> tuple[int | None, bool]:
    raw = request.query_params.get("lastN")
    last_n = None if raw is None else int_param(request, "lastN", 0, low=1)
    words = request.query_params.get("options", "").split(",")
    return last_n, "temporalValues" in words or request.query_params.get(
        "format"
    ) == "temporalValues"


async def query(request: Request) -> Response:
    ctx = read_context(request)
    span = window(request)
    last_n, values = _options(request)
    limit, offset, count = paging(request)
    owner = tenant(request)
    chosen = selection(request.query_params, ctx)
    found, total = chosen.page(owner.entities.values(), offset, limit, count)
    attrs = names(request, ctx)
    page = [temporal_entity(owner, e, ctx, attrs, span, last_n, values) for e in found]
    headers = {"NGSILD-Results-Count": str(total)} if count else None
    return answer(request, page, ctx, headers=headers)


async def read(request: Request) -> Response:
    ctx = read_context(request)
    span = window(request)
    last_n, values = _options(request)
    owner = tenant(request)
    entity = store(request).get(owner, request.path_params["entity_id"])
    out = temporal_entity(owner, entity, ctx, names(request, ctx), span, last_n, values)
    return answer(request, out, ctx)


ROUTES = [
    ("/temporal/entities", query, ["GET"]),
    ("/temporal/entities/{entity_id}", read, ["GET"]),
]

__all__ = ["ROUTES", "temporal_entity", "window"]
