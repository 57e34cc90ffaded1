"""What a connector raises when its backend does not give an answer, by whose fault.

The gateway's guard (gateway/resilience.py) turns these into HTTP answers and decides which
ones count against the source's circuit breaker: only failures of the backend itself may
open it, never a request that the backend refused as invalid or too costly, or the client
could switch a city off with a handful of bad requests. Messages are for the operator's
log: they may name hosts and driver errors, so clients never see them. Only a SourceError's
`answer` reaches the client: the backend's own error in its protocol's terms (an NGSI
broker's `TooManyResults: …`), which a client needs to understand the 502.

Any other exception escaping a connector counts as a backend failure (502).
"""

from __future__ import annotations


class SourceError(Exception):
    """The backend failed (unreachable, broken connection, error answer, garbage).
    `answer`: the backend's error as its protocol states it (code and text of an error
    body, truncated), shown to clients; never hosts, URLs or driver errors."""

    def __init__(self, message: str, *, answer: str | None = None) -> None:
        super().__init__(message)
        self.answer = answer


class SourceTimeout(SourceError):
    """The backend did not answer in time (a connect or read timeout of its own)."""


class SourceRejectedValue(Exception):
    """The backend refused a value of the request as invalid data (PostgreSQL's data
    exceptions, SQLSTATE class 22: a NUL character, a number out of range, a malformed
    date). The client's error: answered 400, not counted against the source."""


class SourceStatementTimeout(Exception):
    """The backend cancelled the statement after its own time limit, and answered so: it is
    alive, the query was too expensive. Answered 504, not counted against the source."""


class SourceRefused(Exception):
    """An upstream API answered 4xx to a request the gateway considered valid, or the
    request cannot be sent at all (`status` 414: its URL is too long). Answered 400."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SourceAnswerTooLarge(Exception):
    """An upstream answer exceeded the configured size cap (the read stopped there). Often
    the request's doing (a huge page), so it is answered 502 without counting."""


class SourceConflict(Exception):
    """A write the backend refused because of the data's state: a record with that id
    exists, a unique or foreign key is violated. The client's to resolve (409), never a
    failure of the source."""


class SourceStale(Exception):
    """A conditional write found the record changed since the version the client named
    (checked inside the source's transaction): answered 412, nothing written."""


__all__ = [
    "SourceAnswerTooLarge",
    "SourceConflict",
    "SourceError",
    "SourceStatementTimeout",
    "SourceRefused",
    "SourceRejectedValue",
    "SourceStale",
    "SourceTimeout",
]
