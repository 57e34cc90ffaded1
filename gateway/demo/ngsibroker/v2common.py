"""What every v2 route reads and answers the same way: the tenant headers, `options`,
paging parameters, JSON bodies, and Orion's error bodies and status codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.demo.ngsibroker.store import (
    BrokerError,
    Scope,
    Store,
    Tenant,
    bad_request,
    query_scope,
    write_path,
)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
# what Orion 3.x takes in `options` (normalized is the default form, FiLiP names it)
READ_OPTIONS = frozenset(
    {
        "count",
        "normalized",
        "keyValues",
        "values",
        "unique",
        "append",
        "upsert",
        "skipInitialNotification",
        "noAttrDetail",
        "skipForwarding",
        "forcedUpdate",
        "overrideMetadata",
        "flowControl",
    }
)
Handler = Callable[[Request], Awaitable[Response]]


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: BrokerError) -> Response:
    return JSONResponse(
        {"error": error.error, "description": error.description}, status_code=error.status
    )


def guarded(handler: Handler) -> Handler:
    """The handler with BrokerError answered as Orion's error body."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except BrokerError as e:
            return error_response(e)

    return run


def store_of(request: Request) -> Store:
    return request.app.state.ngsi_store


def tenant(request: Request) -> Tenant:
    return store_of(request).tenant(request.headers.get("fiware-service"))


def scope(request: Request) -> Scope:
    return query_scope(request.headers.get("fiware-servicepath"))


def path_for_write(request: Request) -> str:
    return write_path(request.headers.get("fiware-servicepath"))


def options(request: Request) -> set[str]:
    raw = request.query_params.get("options")
    if raw is None:
        return set()
    found = {o for o in raw.split(",") if o}
    unknown = found - READ_OPTIONS
    if unknown:
        raise bad_request(f"Invalid value for URI param /options/: {sorted(unknown)[0]}")
    return found


def mode(found: set[str]) -> str:
    for name in ("keyValues", "values", "unique"):
        if name in found:
            return name
    return "normalized"


def names(request: Request, key: str) -> list[str] | None:
    raw = request.query_params.get(key)
    return None if raw is None else [n for n in raw.split(",") if n]


def _integer(request: Request, key: str, default: int) -> int:
    raw = request.query_params.get(key)
    if raw is None:
        return default
    if not raw.isdigit():
        raise bad_request(f"Bad pagination {key}: /{raw[:20]}/ [must be a decimal number]")
    return int(raw)


def paging(request: Request) -> tuple[int, int]:
    """`limit` (1–1000, default 20) and `offset` (default 0), as Orion checks them."""
    limit = _integer(request, "limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"Bad pagination limit: /{limit}/ [a value between 1 and 1000]")
    return limit, _integer(request, "offset", 0)


async def json_body(request: Request) -> Any:
    """The request's JSON (415 unless application/json, 400 ParseError if broken)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise BrokerError(415, "UnsupportedMediaType", "not supported content type")
    raw = await request.body()
    if not raw.strip():
        raise BrokerError(
            411, "ContentLengthRequired", "Zero/No Content-Length in PUT/POST/PATCH request"
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BrokerError(400, "ParseError", "Errors found in incoming JSON buffer") from None


def json_object(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise bad_request("the payload must be a JSON object")
    return doc


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=headers)


__all__ = [
    "DEFAULT_LIMIT",
    "Json",
    "MAX_LIMIT",
    "error_response",
    "guarded",
    "json_body",
    "json_object",
    "mode",
    "names",
    "no_content",
    "options",
    "paging",
    "path_for_write",
    "scope",
    "store_of",
    "tenant",
]
