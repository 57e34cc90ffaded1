"""The HTTP edges every NGSI-LD route of the test broker shares: which @context a request
uses (6.3.5), its JSON body, its tenant, and answers (entities with their @context,
errors as ProblemDetails, 6.3.2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.demo.ngsibroker import ldformat
from gateway.demo.ngsibroker.ldcontext import Context, ContextError, from_link, resolve
from gateway.demo.ngsibroker.ldstore import LdError, LdStore, Tenant

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
TITLES = {
    "InvalidRequest": "The request associated to the operation is syntactically invalid",
    "BadRequestData": "The request includes input data which does not meet the requirements",
    "AlreadyExists": "The referred element already exists",
    "OperationNotSupported": "The operation is not supported",
    "ResourceNotFound": "The referred resource has not been found",
    "NonexistentTenant": "The addressed tenant does not exist",
    "TooManyResults": "The query leads to too many results",
    "LdContextNotAvailable": "A remote JSON-LD @context could not be retrieved",
}
MAX_BODY = 8 * 1024 * 1024
MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
Handler = Callable[[Request], Awaitable[Response]]


def problem_doc(error: LdError) -> dict[str, Any]:
    return {
        "type": ERRORS + error.kind,
        "title": TITLES.get(error.kind, error.kind),
        "status": error.status,
        "detail": error.detail,
    }


def problem(error: LdError) -> Response:
    body = orjson.dumps(problem_doc(error))
    return Response(body, error.status, media_type="application/json")


def guarded(handler: Handler) -> Handler:
    """LdError -> ProblemDetails; the routes raise meaning, this renders it."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except LdError as e:
            return problem(e)

    return run


def paging(request: Request) -> tuple[int, int, bool]:
    limit = int_param(request, "limit", DEFAULT_LIMIT)
    offset = int_param(request, "offset", 0)
    raw_count = request.query_params.get("count", "false")
    if raw_count not in ("true", "false"):
        raise LdError(400, "BadRequestData", "count must be true or false")
    count = raw_count == "true" or "count" in request.query_params.get("options", "").split(",")
    if limit > MAX_LIMIT:
        raise LdError(
            403, "TooManyResults", f"limit {limit} is beyond this broker's maximum {MAX_LIMIT}"
        )
    if limit == 0 and not count:
        raise LdError(400, "BadRequestData", "limit=0 needs count=true")
    return limit, offset, count


def store(request: Request) -> LdStore:
    return request.app.state.ld_store  # type: ignore[no-any-return]


def tenant(request: Request, *, create: bool = False) -> Tenant:
    return store(request).tenant(request.headers.get("NGSILD-Tenant"), create=create)


def read_context(request: Request, body: Any = None) -> Context:
    """The request's @context: the `Link` header, or for an ld+json body its `@context`."""
    link = from_link(request.headers.get("Link"))
    ld_body = "application/ld+json" in request.headers.get("Content-Type", "")
    if ld_body and request.method in ("POST", "PATCH", "PUT"):
        if link is not None:
            raise LdError(400, "BadRequestData", "an ld+json body takes no Link header context")
        raw = _body_context(body)
        if raw is None:
            raise LdError(400, "BadRequestData", "an application/ld+json body needs @context")
    else:
        raw = link
    try:
        return resolve(raw)
    except ContextError as e:
        raise LdError(400, "BadRequestData", str(e)) from None


def _body_context(body: Any) -> Any:
    if isinstance(body, dict):
        return body.get("@context")
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("@context")
    return None


async def json_body(request: Request) -> Any:
    kind = request.headers.get("Content-Type", "").split(";")[0].strip()
    if kind not in ("application/json", "application/ld+json", "application/merge-patch+json"):
        raise LdError(415, "InvalidRequest", f"unsupported Content-Type '{kind[:60]}'")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise LdError(413, "BadRequestData", "the body is too large")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise LdError(400, "InvalidRequest", "the body is not valid JSON") from None


def answer(
    request: Request,
    payload: Any,
    ctx: Context,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Entities (a dict or a list) with their @context as the client asked for it."""
    extra = dict(headers or {})
    if ldformat.wants_ld(request.headers.get("Accept")):
        value = ldformat.context_value(ctx)
        if isinstance(payload, list):
            payload = [{**item, "@context": value} for item in payload]
        else:
            payload = {**payload, "@context": value}
        media = "application/ld+json"
    else:
        extra["Link"] = ldformat.link_header(ctx)
        media = "application/json"
    return Response(orjson.dumps(payload), status, headers=extra, media_type=media)


def entities_answer(
    request: Request, payload: Any, ctx: Context, headers: dict[str, str] | None = None
) -> Response:
    """Entities as `answer` gives them, or as GeoJSON when the client accepts
    application/geo+json (a FeatureCollection, or one Feature; the @context as a Link)."""
    if not ldformat.wants_geojson(request.headers.get("Accept")):
        return answer(request, payload, ctx, headers=headers)
    name = request.query_params.get("geometryProperty", "location")
    if isinstance(payload, list):
        features = [ldformat.feature(e, name) for e in payload]
        body: Any = {"type": "FeatureCollection", "features": features}
    else:
        body = ldformat.feature(payload, name)
    extra = {**(headers or {}), "Link": ldformat.link_header(ctx)}
    return Response(orjson.dumps(body), headers=extra, media_type="application/geo+json")


def plain(payload: Any, status: int = 200) -> Response:
    """A JSON answer that is no entity (batch results, update reports): no @context."""
    return Response(orjson.dumps(payload), status, media_type="application/json")


def int_param(request: Request, name: str, default: int, *, low: int = 0) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < low:
        raise LdError(400, "BadRequestData", f"{name} must be an integer >= {low}")
    return int(raw)


def names(request: Request, ctx: Context, param: str = "attrs") -> set[str] | None:
    raw = request.query_params.get(param)
    if raw is None:
        return None
    return {ctx.expand(n.strip()) for n in raw.split(",") if n.strip()}


__all__ = [
    "guarded",
    "paging",
    "problem_doc",
    "answer",
    "entities_answer",
    "plain",
    "int_param",
    "json_body",
    "names",
    "problem",
    "read_context",
    "tenant",
]
