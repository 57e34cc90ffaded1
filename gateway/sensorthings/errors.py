"""STA-specific members of the gateway's error vocabulary and the STA error body.

The OGC-shaped handlers in `gateway.app` never see these paths: the STA routes render every
`GatewayError` themselves as `{"type": "error", "code": <status>, "message": ...}`, the shape
FROST-Server answers with.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import GatewayError, InvalidParameter


class InvalidBody(InvalidParameter):
    """A request body that cannot become an entity (bad JSON, missing mandatory property)."""

    code = "InvalidBody"

    def __init__(self, description: str) -> None:
        super().__init__("body", description)


class Unauthorized(GatewayError):
    status = 401
    code = "Unauthorized"


class Forbidden(GatewayError):
    status = 403
    code = "Forbidden"


class MethodNotAllowed(GatewayError):
    status = 405
    code = "MethodNotAllowed"


class Conflict(GatewayError):
    status = 409
    code = "Conflict"


class NotImplementedYet(GatewayError):
    """A valid request this source cannot answer (e.g. a function an upstream lacks)."""

    status = 501
    code = "NotImplemented"


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "code": status, "message": message}
