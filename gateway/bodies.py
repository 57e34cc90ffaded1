"""Request bodies read with a limit: the size is counted while the body streams in, so a
chunked body, or one whose Content-Length is missing or lies, cannot make the gateway hold
more than the limit in memory. A declared length over the limit is refused before reading.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from gateway.errors import InvalidParameter, PayloadTooLarge


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:  # the client left, or its body broke off (a malformed chunk)
        raise InvalidParameter("body", "the request ended before its body did") from None
    return b"".join(chunks)
