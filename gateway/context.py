"""Per-request values that deep code needs without every signature carrying them: the
request id (logged with every backend failure, echoed to the client) and the deadline
a federated request gives its members."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("twinbridge_request_id", default="-")
# Absolute event-loop time by which every backend call of this request must be answered.
DEADLINE: ContextVar[float | None] = ContextVar("twinbridge_deadline", default=None)

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def new_request_id(offered: str | None) -> str:
    """The id a proxy in front of us assigned (X-Request-Id), when it looks like an id and
    not like an attempt to write into our logs; else a fresh one."""
    if offered and _CLIENT_ID.match(offered):
        return offered
    return os.urandom(8).hex()  # as random as uuid4().hex[:16], without the UUID object
