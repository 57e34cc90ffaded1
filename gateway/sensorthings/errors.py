"""STA-specific members of the gateway's error vocabulary and the STA error body.

The OGC-shaped handlers in `gateway.app` never see these paths: the STA routes render every
`GatewayError` themselves as `{"type": "error", "code": <status>, "message": ...}`, the shape
FROST-Server answers with.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import (  # noqa: F401 - re-exported for the STA modules
    Conflict,
    Forbidden,
    InvalidParameter,
    MethodNotAllowed,
    NotImplementedYet,
    Unauthorized,
)

# What a 405 names in Allow, by the kind of resource addressed.
ON_COLLECTION = ("GET", "HEAD", "POST")
ON_ENTITY = ("GET", "HEAD", "PATCH", "PUT", "DELETE")
ON_ROOT = ("GET", "HEAD")
ON_ACTION = ("POST",)


class InvalidBody(InvalidParameter):
    """A request body that cannot become an entity (bad JSON, missing mandatory property)."""

    code = "InvalidBody"

    def __init__(self, description: str) -> None:
        super().__init__("body", description)


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "code": status, "message": message}
