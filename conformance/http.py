"""HTTP for checks: every exchange becomes evidence, nothing waits forever.

`Session` is shared by a run: one httpx.AsyncClient (any transport, so tests can pass
`httpx.ASGITransport(app=...)`), a semaphore bounding concurrent requests, a per-request
timeout enforced with asyncio (so it holds for in-process transports too), a cap on body
size, and a single-flight cache for documents many checks read (landing page, OpenAPI...).

`Probe` is one check's view of the session: it records the evidence of that check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

import httpx

from conformance.model import Blocked, CheckFailed, CheckSkipped, Evidence

T = TypeVar("T")
SAFE = ",:/()'!*$;@"
USER_AGENT = "TwinBridge-conformance/0.1 (+https://www.ogc.org/standards/ogcapi-features)"


class RequestError(Exception):
    """A request could not be completed (timeout, refused, too large): the result is error."""


@dataclass
class Fetched:
    """One response, read in full, with its evidence."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    http_version: str
    evidence: Evidence
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower case ("" when absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON fails the check that asked for it."""
        if not self._parsed:
            import json

            try:
                self._json = json.loads(self.content)
            except ValueError as e:
                raise CheckFailed(
                    f"GET {self.url} answered {self.status} with a body that is not JSON ({e})"
                ) from None
            self._parsed = True
        return self._json

    def json_object(self) -> dict[str, Any]:
        doc = self.json()
        if not isinstance(doc, dict):
            raise CheckFailed(f"{self.url}: expected a JSON object, got {type(doc).__name__}")
        return doc


def merge_query(url: str, params: dict[str, Any] | None) -> str:
    """`url` with `params` added (replacing parameters of the same name). Values are
    percent-encoded as RFC 3986 requires, keeping `,` `:` `/` `(` `)` `'` readable."""
    if not params:
        return url
    parts = urlsplit(url)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote_plus(pair.split("=", 1)[0]) not in params
    ]
    added = [f"{quote(str(k), safe='')}={quote(str(v), safe=SAFE)}" for k, v in params.items()]
    return urlunsplit(parts._replace(query="&".join(kept + added)))


def excerpt(content: bytes, limit: int) -> str:
    text = content[: limit * 4].decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + " …"


class Session:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        concurrency: int = 8,
        timeout: float = 30.0,
        max_bytes: int = 200_000_000,
        excerpt_chars: int = 600,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.excerpt_chars = excerpt_chars
        self._semaphore = asyncio.Semaphore(concurrency)
        self._memo: dict[Hashable, asyncio.Task] = {}
        self.requests = 0

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
    ) -> Fetched:
        request = self.client.build_request(
            method, merge_query(url, params), headers=headers, json=json, content=content
        )
        shown = str(request.url)
        async with self._semaphore:
            started = time.perf_counter()  # waiting for a slot is not the server's time
            self.requests += 1
            try:
                async with asyncio.timeout(self.timeout):
                    response, body = await self._send(request, shown)
            except TimeoutError:
                raise RequestError(
                    f"{method} {shown}: no complete answer within {self.timeout:g} s"
                ) from None
            except httpx.HTTPError as e:
                raise RequestError(f"{method} {shown}: {type(e).__name__}: {e}") from None
            except (RequestError, asyncio.CancelledError):
                raise
            except Exception as e:  # an in-process (ASGI) server that raised
                raise RequestError(f"{method} {shown}: the server failed: {e!r}") from None
        evidence = Evidence(
            method=method,
            url=str(response.url),
            status=response.status_code,
            excerpt=excerpt(body, self.excerpt_chars),
            content_type=response.headers.get("content-type", ""),
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
        return Fetched(
            method=method,
            url=str(response.url),
            status=response.status_code,
            headers=response.headers,
            content=body,
            http_version=response.http_version,
            evidence=evidence,
        )

    async def _send(self, request: httpx.Request, shown: str) -> tuple[httpx.Response, bytes]:
        """Send and read the body. A kept-alive connection the server closed just as the
        request went out is retried once for GET and HEAD (RFC 9110 9.2.2: idempotent)."""
        for attempt in (1, 2):
            try:
                response = await self.client.send(request, stream=True)
                try:
                    return response, await self._read(response, shown)
                finally:
                    await response.aclose()
            except (httpx.RemoteProtocolError, httpx.ReadError):
                if attempt == 2 or request.method not in ("GET", "HEAD"):
                    raise
        raise AssertionError("unreachable")

    async def _read(self, response: httpx.Response, shown: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise RequestError(f"{shown}: body larger than {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def memo(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        """Single flight: the first caller runs `factory`, the others await the same task."""
        task = self._memo.get(key)
        if task is None:
            task = asyncio.ensure_future(factory())
            self._memo[key] = task
        return await asyncio.shield(task)

    async def close(self) -> None:
        """Cancel cached computations still running (the time budget ran out)."""
        pending = [t for t in self._memo.values() if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


class Probe:
    """The requests of one check. Cached documents add their evidence here too."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.evidence: list[Evidence] = []

    async def request(self, method: str, url: str, **kw: Any) -> Fetched:
        fetched = await self.session.fetch(method, url, **kw)
        self.evidence.append(fetched.evidence)
        return fetched

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        cache: bool = False,
    ) -> Fetched:
        all_headers = {**({"Accept": accept} if accept else {}), **(headers or {})}
        if not cache:
            return await self.request("GET", url, params=params, headers=all_headers)
        key = ("GET", url, tuple(sorted((params or {}).items())), tuple(all_headers.items()))
        fetched = await self.session.memo(
            key, lambda: self.session.fetch("GET", url, params=params, headers=all_headers)
        )
        self.evidence.append(fetched.evidence)
        return fetched

    async def memo(self, key: Hashable, factory: Callable[[Probe], Awaitable[T]]) -> T:
        """Cache a derived value (e.g. all items of a collection) for the whole run.

        The value's own requests are recorded once and added to every check that uses it.
        A failure inside the factory is not this check's failure: it becomes Blocked.
        """

        async def produce() -> tuple[T | None, list[Evidence], BaseException | None]:
            inner = Probe(self.session)
            try:
                return await factory(inner), inner.evidence, None
            except CheckSkipped as e:
                return None, inner.evidence, e
            except CheckFailed as e:
                return None, inner.evidence, Blocked(str(e))
            except RequestError as e:
                return None, inner.evidence, e

        value, evidence, error = await self.session.memo(key, produce)
        self.evidence.extend(evidence)
        if error is not None:
            raise error
        return value  # type: ignore[return-value]
