"""Paging cursors: the `cursor` parameter of `next` links.

A cursor says where the next page starts: how many matches precede it (its offset, so `prev`
links still work) and whatever the collection needs to continue without skipping rows
(`Page.resume`: a PostGIS keyset position, each federation member's position). A page deep
in a big table then costs what the first page costs, where an offset makes the database
walk every row before it.

Cursors are opaque to clients and signed with the server's key over the query they belong
to: one used with another filter, sort or collection is refused with a 400, not answered
from a meaningless position. Values inside only ever become bound SQL parameters; the
signature keeps answers honest, it is not what keeps SQL safe.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import replace
from typing import Any

import orjson

from gateway.errors import InvalidParameter
from gateway.query.model import Query

PARAM = "cursor"


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cursors:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _signature(self, scope: str, query: Query, payload: bytes) -> bytes:
        """Over the collection, the selection (not the page size or the encoding) and the
        payload. repr() of the parsed query is stable: tuples and frozen dataclasses."""
        selection = repr((query.bbox, query.datetime, query.filter, query.sortby))
        message = b"\0".join((scope.encode(), selection.encode(), payload))
        return hmac.digest(self._key, message, "sha256")[:16]  # one-shot: no HMAC object

    def issue(self, scope: str, query: Query, offset: int, resume: Any) -> str:
        payload = orjson.dumps({"o": offset, "r": resume})
        return f"{_encode(payload)}.{_encode(self._signature(scope, query, payload))}"

    def apply(self, scope: str, query: Query, token: str) -> Query:
        """The query starting where the cursor says."""
        try:
            body, signature = token.split(".")
            payload, given = _decode(body), _decode(signature)
        except (ValueError, binascii.Error):
            raise InvalidParameter(PARAM, "not a cursor this server issued") from None
        if not hmac.compare_digest(given, self._signature(scope, query, payload)):
            raise InvalidParameter(
                PARAM,
                "issued for another query: follow the next link as it is, or start again "
                "without a cursor",
            )
        state = orjson.loads(payload)
        return replace(query, offset=state["o"], resume=state["r"])


def derived_key(configuration: str) -> bytes:
    """Without a configured secret: a key every worker loading the same configuration
    derives alike, so a cursor from one worker works on the next."""
    return hashlib.sha256(b"twinbridge cursor\0" + configuration.encode()).digest()
