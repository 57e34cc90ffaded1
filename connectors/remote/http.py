"""One upstream HTTP endpoint, as every HTTP-based source reaches it.

One pooled httpx client per endpoint; only URLs below the configured base are fetched (a
URL from a request never is); redirects are not followed; answers are read as a stream
and stopped at a size cap; idempotent GETs are retried on connection failures and 502/503/
504 with jittered backoff, within a retry budget so that an outage does not multiply the
load on the upstream. Failures come out as connectors.errors classes, so the gateway's
guard can tell the upstream's fault from the client's. The wall-clock deadline of a call
is the guard's (httpx's timeouts are per read: a slow drip would pass them).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.errors import SourceAnswerTooLarge, SourceError, SourceRefused, SourceTimeout

RETRY_STATUS = frozenset({502, 503, 504})
ENCODINGS = "gzip, deflate"  # the content codings asked for, inflated within the size cap
_BACKOFF_BASE = 0.05  # seconds; doubled per attempt, full jitter
_BACKOFF_CAP = 1.0


class HttpSettings(BaseModel):
    """Connection settings of an upstream endpoint (a block of a connector's config)."""

    model_config = ConfigDict(extra="forbid")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra headers sent upstream (e.g. Authorization: ${TOKEN}); never logged.",
    )
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection.")
    max_connections: int = Field(
        20, ge=1, description="Connections to the upstream at once, per worker."
    )
    max_response_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Largest upstream answer read; a larger one fails the call (502).",
    )
    max_url_length: int = Field(
        32768,
        ge=256,
        description="Longest URL sent upstream (TwinBridge takes 32768 bytes, Tomcat's default "
        "for FROST is 8 KiB). A request that would need a longer one is refused (400) "
        "without asking: re-serialised, a query may grow past what the client sent.",
    )
    retries: int = Field(
        1,
        ge=0,
        le=5,
        description="Extra attempts of a GET after a connection failure or a 502/503/504, "
        "with jittered backoff, within the call's deadline and a budget of one retry per "
        "ten requests.",
    )


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: httpx.Headers
    content: bytes


class HttpStream:
    """An answer whose body is read as it arrives (`chunks()`), within the size cap."""

    def __init__(self, response: httpx.Response, endpoint: HttpEndpoint, url: str) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self._response = response
        self._endpoint = endpoint
        self._url = url

    async def chunks(self) -> AsyncIterator[bytes]:
        """The decoded body chunk by chunk; the cap counts decoded bytes (a zip bomb stops).
        Inflated here, never past the cap: httpx's own decoder inflates a whole chunk first
        (16 kB of a gzip bomb became 16 MB before any check)."""
        cap, name = self._endpoint.settings.max_response_bytes, self._endpoint.name
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise SourceAnswerTooLarge(f"{name}: {declared} bytes announced")
        inflate = _inflater(self.headers.get("content-encoding", ""), name)
        size = 0
        with self._endpoint.failures(self._url):
            async for raw in self._response.aiter_raw():
                chunk = raw if inflate is None else inflate(raw, cap - size + 1)
                size += len(chunk)
                if size > cap:
                    raise SourceAnswerTooLarge(f"{name}: more than {cap} bytes")
                yield chunk

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class _StatelessClient(httpx.AsyncClient):
    """A client that keeps no cookies: the endpoint is shared by every request of every
    client, so a cookie an upstream sets for one (a session) must not ride along with the
    others' requests; keeping none also saves httpx's cookie parsing on each answer."""

    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()

    @cookies.setter
    def cookies(self, value: object) -> None:
        pass


class RetryBudget:
    """Retries may add at most `ratio` of the requests (plus `floor` per second), so a
    failing upstream sees little more than the traffic it already gets."""

    def __init__(self, ratio: float = 0.1, floor: float = 1.0) -> None:
        self.ratio = ratio
        self.floor = floor
        self._tokens = 1.0
        self._stamp = time.monotonic()

    def deposit(self) -> None:
        now = time.monotonic()
        self._tokens = min(10.0, self._tokens + self.ratio + (now - self._stamp) * self.floor)
        self._stamp = now

    def withdraw(self) -> bool:
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class HttpEndpoint:
    def __init__(self, base_url: str, settings: HttpSettings, *, name: str) -> None:
        self.base = base_url.rstrip("/")
        self.settings = settings
        self.name = name
        self.budget = RetryBudget()
        self._open = False
        # One client per event loop: pooled connections belong to the loop that opened
        # them, and an app driven from two loops (a test client's portal and a loop
        # thread) would otherwise read one loop's socket from the other.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    def _new_client(self) -> httpx.AsyncClient:
        s = self.settings
        return _StatelessClient(
            headers={"Accept": "application/json", "Accept-Encoding": ENCODINGS, **s.headers},
            timeout=httpx.Timeout(None, connect=s.connect_timeout),
            limits=httpx.Limits(
                max_connections=s.max_connections, max_keepalive_connections=s.max_connections
            ),
            follow_redirects=False,
        )

    async def open(self) -> None:
        self._open = True
        self._client()

    @property
    def is_open(self) -> bool:
        return self._open

    async def close(self) -> None:
        """Close the running loop's client; another loop's (if any) goes with its loop."""
        self._open = False
        client = self._clients.pop(asyncio.get_running_loop(), None)
        self._clients.clear()
        if client is not None:
            await client.aclose()

    def _client(self) -> httpx.AsyncClient:
        if not self._open:
            raise SourceError(f"{self.name}: the endpoint is not open")
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self._new_client()
        return client

    def owns(self, url: str) -> bool:
        """A path below the base, or the base with (more) query parameters: a KVP service
        such as a WFS lives at one URL, often one with a query of its own (`?map=…`)."""
        if url == self.base:
            return True
        if "?" in self.base:
            return url.startswith(self.base + "&")
        return url.startswith((self.base + "/", self.base + "?"))

    def _check(self, url: str) -> None:
        if not self.owns(url):
            raise ValueError(f"{url} is not below the endpoint {self.base}")
        if len(url) > self.settings.max_url_length:
            raise SourceRefused(
                414, f"{self.name}: a URL of {len(url)} bytes, beyond max_url_length"
            )

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpAnswer:
        """GET a URL below the base; 4xx answers are returned for the caller to judge.
        `headers` add to or replace the endpoint's own (e.g. an Accept for GeoJSON)."""
        self._check(url)
        self.budget.deposit()
        attempt = 0
        while True:
            try:
                answer = await self._fetch(url, headers)
            except SourceTimeout:
                raise
            except SourceError:
                if not self._retry(attempt):
                    raise
            else:
                if answer.status not in RETRY_STATUS:
                    return answer
                if not self._retry(attempt):
                    raise SourceError(f"{self.name}: the upstream answered {answer.status}")
            attempt += 1
            delay = random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))
            await asyncio.sleep(delay)

    def _retry(self, attempt: int) -> bool:
        return self._retry_allowed(attempt) and self.budget.withdraw()

    def _retry_allowed(self, attempt: int) -> bool:
        return attempt < self.settings.retries

    @contextlib.asynccontextmanager
    async def stream(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> AsyncIterator[HttpStream]:
        """GET (or, with `content`, POST) a URL below the base and read the body as it
        arrives. A GET is retried like `get()` until its answer starts; a POST never is
        (it need not be idempotent). 4xx answers are yielded for the caller to judge."""
        self._check(url)
        client = self._client()
        method = "GET" if content is None else "POST"
        request = client.build_request(method, url, headers=headers, content=content)
        self.budget.deposit()
        attempt = 0
        while True:
            retry = method == "GET" and self._retry_allowed(attempt)
            try:
                with self.failures(url):
                    response = await client.send(request, stream=True)
            except SourceTimeout:
                raise
            except SourceError:
                if not retry or not self.budget.withdraw():
                    raise
            else:
                if response.status_code not in RETRY_STATUS:
                    break
                await response.aclose()
                if not retry or not self.budget.withdraw():
                    raise SourceError(f"{self.name}: the upstream answered {response.status_code}")
            attempt += 1
            await asyncio.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))
        try:
            yield HttpStream(response, self, url)
        finally:
            await response.aclose()

    @contextlib.contextmanager
    def failures(self, url: str) -> Iterator[None]:
        """httpx's exceptions as connectors.errors classes, by whose fault."""
        try:
            yield
        except httpx.TimeoutException as e:
            raise SourceTimeout(f"{self.name}: {type(e).__name__} from {url}") from e
        except (httpx.TransportError, httpx.DecodingError) as e:
            raise SourceError(f"{self.name}: {type(e).__name__}: {e} ({url})") from e
        except httpx.InvalidURL as e:  # a URL made from the request: not the upstream's fault
            raise SourceRefused(400, f"{self.name}: {e}") from e

    async def delete(self, url: str, headers: Mapping[str, str] | None = None) -> int:
        """DELETE a URL below the base (never retried: a second try could remove what a
        client made meanwhile); the answer's status, for the caller to judge."""
        self._check(url)
        client = self._client()
        with self.failures(url):
            response = await client.delete(url, headers=headers)
        return response.status_code

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> HttpAnswer:
        """A write (POST, PUT, PATCH, DELETE) below the base, sent once and never retried: a
        second try could apply it twice. The answer of any status, for the caller to judge;
        its body is read within the size cap."""
        self._check(url)
        client = self._client()
        request = client.build_request(method, url, headers=headers, content=content)
        with self.failures(url):
            response = await client.send(request, stream=True)
        try:
            body = await HttpStream(response, self, url).read()
        finally:
            await response.aclose()
        return HttpAnswer(response.status_code, response.headers, body)

    async def _fetch(self, url: str, headers: Mapping[str, str] | None = None) -> HttpAnswer:
        client = self._client()
        with self.failures(url):
            async with client.stream("GET", url, headers=headers) as response:
                body = await HttpStream(response, self, url).read()
        return HttpAnswer(response.status_code, response.headers, body)


def _inflater(coding: str, name: str) -> Callable[[bytes, int], bytes] | None:
    """A bounded inflater for the answer's content coding (None: identity): each call
    returns at most `room` bytes, so a bomb stops at the cap."""
    coding = coding.strip().lower()
    if coding in ("", "identity"):
        return None
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise SourceError(f"{name}: the upstream answered in '{coding[:40]}', not asked for")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected

    def inflate(data: bytes, room: int) -> bytes:
        try:
            return inflater.decompress(data, max(room, 1))
        except zlib.error as e:
            raise SourceError(f"{name}: a broken {coding} body: {e}") from None

    return inflate


__all__ = ["HttpAnswer", "HttpEndpoint", "HttpSettings", "HttpStream", "RetryBudget"]
