"""What a store refuses because of what the client sent is the client's error: a 400, never
a 500 or a 502. The drivers recognise their database's refusals (PostgreSQL: SQLSTATE
classes 22 "data exception" and 54 "program limit exceeded"; SQLite: its data errors and
size limits) and raise these; the database's own message goes to the log, not the client.

The facade validates first (NUL characters, id ranges, nesting, sizes), so these are the
backstop for whatever it does not foresee.
"""

from __future__ import annotations

import logging

from gateway.errors import InvalidParameter
from gateway.sensorthings.errors import InvalidBody

log = logging.getLogger("twinbridge.sensorthings.store")


def invalid_data(readonly: bool, detail: object) -> InvalidParameter:
    log.info("store refused a value as invalid data: %s", detail)
    if readonly:
        return InvalidParameter("query", "a value in the request is not valid for this store")
    return InvalidBody("a value is not valid for this store")


def too_complex(readonly: bool, detail: object) -> InvalidParameter:
    log.info("store refused a statement as too complex: %s", detail)
    if readonly:
        return InvalidParameter(
            "query", "too complex for this store; use fewer terms, sort keys or levels"
        )
    return InvalidBody("too large for this store; send fewer entities at once")


def too_many_values(readonly: bool, count: int, most: int) -> InvalidParameter:
    return too_complex(readonly, f"{count} bound values, the driver takes {most}")
