"""One error vocabulary: code raises meaning, each facade's handler renders it.

Every class carries its HTTP status and the OGC exception `code`, so a handler never has
to guess; nothing a client can send should ever reach the generic 500 path.
"""

from __future__ import annotations

import logging

from gateway.context import REQUEST_ID


class GatewayError(Exception):
    status = 500
    code = "ServerError"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the body."""
        return {}


class InvalidParameter(GatewayError):
    """A query parameter (or body) the client sent is malformed or not allowed."""

    status = 400
    code = "InvalidParameterValue"

    def __init__(self, parameter: str, description: str) -> None:
        super().__init__(f"{parameter}: {description}")
        self.parameter = parameter


class QueryTooCostly(GatewayError):
    """A valid query that would make the gateway do more work itself than one request may
    (server.query): the client's to narrow, not a failure of the source."""

    status = 400
    code = "QueryTooCostly"


class UnknownParameter(InvalidParameter):
    code = "UnknownParameter"

    def __init__(self, parameter: str) -> None:
        super().__init__(parameter, "unknown query parameter")


class NotFound(GatewayError):
    status = 404
    code = "NotFound"


class NotAcceptable(GatewayError):
    status = 406
    code = "NotAcceptable"


class Unauthorized(GatewayError):
    """No credentials, or ones that prove nothing. `challenge`: the WWW-Authenticate value
    that tells the client how to authenticate (RFC 9110 requires one with every 401)."""

    status = 401
    code = "Unauthorized"

    def __init__(self, description: str, challenge: str = 'Bearer realm="twinbridge"') -> None:
        super().__init__(description)
        self.challenge = challenge

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge}


class Forbidden(GatewayError):
    status = 403
    code = "Forbidden"


class MethodNotAllowed(GatewayError):
    status = 405
    code = "MethodNotAllowed"

    def __init__(self, description: str, allow: tuple[str, ...] = ()) -> None:
        super().__init__(description)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)} if self.allow else {}


class Conflict(GatewayError):
    status = 409
    code = "Conflict"


class PreconditionFailed(GatewayError):
    """An If-Match that names no current version of the resource (a lost update avoided)."""

    status = 412
    code = "PreconditionFailed"


class UnsupportedMediaType(GatewayError):
    """A request body in a media type this operation does not take."""

    status = 415
    code = "UnsupportedMediaType"


class NotImplementedYet(GatewayError):
    """A valid request this source cannot answer (e.g. a function an upstream lacks)."""

    status = 501
    code = "NotImplemented"


class UpstreamFailed(GatewayError):
    """A source answered with an error or garbage: the gateway is fine, the backend is not.

    `description` goes to the client and names only the source; `detail` (driver errors,
    hosts, upstream messages) goes to the log and to `twinbridge config check`."""

    status = 502
    code = "UpstreamFailed"

    def __init__(self, source: str, description: str, detail: str | None = None) -> None:
        super().__init__(f"source '{source}': {description}")
        self.source = source
        self.detail = detail or description


class UpstreamTimeout(UpstreamFailed):
    status = 504
    code = "UpstreamTimeout"


class SourceBusy(UpstreamFailed):
    """Load shed: the source's queue is full or the wait for it too long. Answered at once
    with Retry-After, instead of queueing until every client times out."""

    status = 503
    code = "ServiceUnavailable"

    def __init__(self, source: str, description: str, retry_after: int) -> None:
        super().__init__(source, description)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def log_answer(logger: logging.Logger, path: str, error: GatewayError) -> None:
    """A 5xx answer in the log, with its request id and the operator's details (the
    client's body names the source only). Shed load is counted in metrics, not logged:
    under overload that would be a line per request."""
    if error.status >= 500 and not isinstance(error, SourceBusy):
        detail = getattr(error, "detail", error.description)
        logger.warning(
            "request_id=%s status=%s path=%s: %s", REQUEST_ID.get(), error.status, path, detail
        )


def partial_warning(failed: list[dict[str, str]]) -> str:
    """The Warning header of a federated answer that leaves failed sources out."""
    names = ", ".join(f["source"] for f in failed)
    return f'199 twinbridge "partial result: failed sources {names}"'


class PayloadTooLarge(GatewayError):
    """A request body over the configured limit; raised while it streams in."""

    status = 413
    code = "PayloadTooLarge"

    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}  # the rest of the body is not worth reading


class ConfigError(Exception):
    """A configuration file is wrong; the message names file, key path and what is expected."""
