"""Cases that only a real server can be sent: request heads as raw bytes to `twinbridge serve`
(over-long URLs and header fields, bytes no client library sends, dot segments left as they
are, malformed framing), and forwarded headers from a trusted peer (loopback)."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.hostile.asgi import Answer
from tests.hostile.corpus import IGNORED_HEADER, Case, ok

HOST = b"Host: gw\r\n"
LIMIT = 32768  # server.max_url_length and server.max_header_bytes by default


@dataclass(frozen=True)
class RawCase:
    """A request as bytes, and the case it is checked as (`case.target` names it)."""

    case: Case
    raw: bytes


def request(method: bytes, target: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    head = b"".join(h + b"\r\n" for h in headers)
    return (
        method
        + b" "
        + target
        + b" HTTP/1.1\r\n"
        + HOST
        + head
        + b"Connection: close\r\n\r\n"
        + body
    )


def raw(category: str, name: str, facade: str, data: bytes, **kw: object) -> RawCase:
    shown = data.split(b"\r\n", 1)[0][:200].decode("ascii", "backslashreplace").replace(" ", "_")
    case = Case(category, name, facade, "/raw:" + shown.replace("\\", "%5C"), **kw)  # type: ignore[arg-type]
    return RawCase(case, data)


def cases() -> Iterator[RawCase]:
    yield from _sizes()
    yield from _bytes()
    yield from _paths()
    yield from _framing()
    yield from _trusted_forwarding()


def _sizes() -> Iterator[RawCase]:
    for path, facade in (
        ("/collections/street-trees/items", "ogc"),
        ("/hamburg/sta/v1.1/Things", "sta"),
    ):
        for size in (LIMIT + 1, 65_536, 300_000):
            target = f"{path}?genus={'a' * (size - len(path) - 7)}".encode()
            yield raw("size", f"url-{size}:{facade}", facade, request(b"GET", target), status=414)
        filt = "%24filter" if facade == "sta" else "filter"
        long_filter = f"{path}?{filt}={'%28' * 12_000}".encode()
        yield raw("depth", f"url-parens:{facade}", facade, request(b"GET", long_filter), status=414)
        big = b"X-Big: " + b"b" * 40_000
        yield raw(
            "headers",
            f"header-40k:{facade}",
            facade,
            request(b"GET", path.encode(), big),
            status=431,
        )
        many = [f"X-H{i}: v".encode() for i in range(5000)]
        yield raw(
            "headers",
            f"headers-5000:{facade}",
            facade,
            request(b"GET", path.encode(), *many),
            status=431,
        )
        cookie = b"Cookie: " + b"; ".join(b"c%d=%s" % (i, b"x" * 100) for i in range(400))
        yield raw(
            "headers",
            f"cookie-40k:{facade}",
            facade,
            request(b"GET", path.encode(), cookie),
            status=431,
        )
        forwarded = b"X-Forwarded-Host: " + b"h" * 40_000
        yield raw(
            "headers",
            f"forwarded-40k:{facade}",
            facade,
            request(b"GET", path.encode(), forwarded),
            status=431,
        )


def _bytes() -> Iterator[RawCase]:
    """Bytes in the request target that a client library would have encoded or refused."""
    targets = {
        "latin1-path": b"/collections/stra\xdfe",
        "utf8-path": "/collections/straße".encode(),
        "invalid-utf8-path": b"/hamburg/collections/\xff\xfe",
        "latin1-query": b"/hamburg/collections/strassenbaeume/items?genus=\xe9",
        "utf8-query": "/hamburg/collections/strassenbaeume/items?genus=é".encode(),
        "nul-path": b"/collections\x00/street-trees",
        "nul-query": b"/collections/street-trees/items?genus=a\x00b",
        "control-path": b"/collections\x01",
        "tab-path": b"/collections\t/x",
        "del-path": b"/collections\x7f",
        "quotes-path": b'/collections/"<script>hx()</script>',
        "backslash-path": b"/hamburg\\..\\..\\etc\\passwd",
        "sta-utf8-id": "/hamburg/sta/v1.1/Things('ä')".encode(),
        "sta-raw-quote-filter": b"/hamburg/sta/v1.1/Things?$filter=name eq 'x'",
        "sta-nul-filter": b"/hamburg/sta/v1.1/Things?$filter=name%20eq%20'\x00'",
    }
    for name, target in targets.items():
        facade = "sta" if b"/sta/" in target else "ogc"
        yield raw("encoding", name, facade, request(b"GET", target))


def _paths() -> Iterator[RawCase]:
    """Dot segments and odd request targets as they arrive: nobody normalises them for us."""
    not_found = {
        "dot-dot-tenant": b"/hamburg/../leipzig/collections",
        "dot-dot-root": b"/../../../../etc/passwd",
        "dot-dot-items": b"/collections/street-trees/items/../../../../etc/passwd",
        "dot-dot-sta": b"/hamburg/sta/v1.1/../../../etc/passwd",
        "dot-dot-sta-id": b"/hamburg/sta/v1.1/Things(1)/../../Things(2)",
        "dot-collection": b"/collections/./street-trees/./items/..",
        "static": b"/static/../../../../etc/passwd",
        "double-slash": b"//hamburg//collections",
        "encoded-dots": b"/hamburg/%2e%2e/%2e%2e/etc/passwd",
        "overlong-dots": b"/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    }
    for name, target in not_found.items():
        facade = "sta" if b"/sta/" in target else "ogc"
        yield raw("paths", name, facade, request(b"GET", target))
    odd = {"asterisk-get": b"*", "no-slash": b"collections"}
    for name, target in odd.items():
        yield raw("paths", name, "ogc", request(b"GET", target))


def _framing() -> Iterator[RawCase]:
    items = b"/collections/street-trees/items"
    body = b'{"op":"=","args":[{"property":"genus"},"x"]}'
    bad = {
        "smuggling-cl-te": request(
            b"POST",
            items,
            b"Content-Type: application/json",
            b"Content-Length: 4",
            b"Transfer-Encoding: chunked",
            body=b"0\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n",
        ),
        "content-length-twice": request(
            b"POST", items, b"Content-Length: 2", b"Content-Length: 40", body=body
        ),
        "content-length-garbage": request(b"POST", items, b"Content-Length: abc", body=body),
        "content-length-negative": request(b"POST", items, b"Content-Length: -1", body=body),
        "bad-chunk-size": request(
            b"POST",
            items,
            b"Transfer-Encoding: chunked",
            b"Content-Type: application/json",
            body=b"zz\r\nabc\r\n0\r\n\r\n",
        ),
        "header-nul": request(b"GET", b"/collections", b"X-Request-Id: a\x00b"),
        "header-no-colon": request(b"GET", b"/collections", b"Bad Header"),
        "header-space-before-colon": request(b"GET", b"/collections", b"X-A : b"),
        "obs-fold": request(b"GET", b"/collections", b"X-A: b\r\n c"),
        "header-name-utf8": request(b"GET", b"/collections", "X-Ä: b".encode()),
        "method-lower": request(b"get", b"/collections"),
        "method-long": request(b"G" * 5000, b"/collections"),
        "method-nul": request(b"GE\x00T", b"/collections"),
        "version-garbage": b"GET /collections HTTP/9.x\r\nHost: gw\r\n\r\n",
        "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "tls-hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
        "bare-lf": b"GET /collections HTTP/1.1\nHost: gw\n\n",
    }
    for name, data in bad.items():
        yield raw("headers", name, "ogc", data)
    fine = {
        "two-hosts": request(b"GET", b"/collections", b"Host: evil.example"),
        "http-1.0": b"GET /collections HTTP/1.0\r\n\r\n",
        "utf8-header-value": request(b"GET", b"/collections", "X-Note: grüße".encode()),
        "latin1-header-value": request(b"GET", b"/collections", b"X-Note: gr\xfc\xdfe"),
    }
    for name, data in fine.items():
        case = raw("headers", name, "ogc", data)
        yield RawCase(ok(case.case, IGNORED_HEADER, absent=("evil.example",)), case.raw)
    yield raw(
        "headers",
        "control-header-value",
        "ogc",
        request(b"GET", b"/collections", b"X-Note: a\x01b"),
    )
    lenient = {  # what httptools reads as a request all the same
        "version-2": (
            b"GET /collections HTTP/2.0\r\nHost: gw\r\n\r\n",
            "HTTP/2.0 in a request line is read as HTTP/1.1",
        ),
        "no-version": (b"GET /collections\r\n\r\n", "a request line without a version is HTTP/0.9"),
        "absolute-form": (
            request(b"GET", b"http://evil.example/collections"),
            "the absolute form is valid (RFC 9112 3.2.2); the links keep the Host",
        ),
        "fragment": (request(b"GET", b"/collections#frag"), "the fragment is dropped"),
    }
    for name, (data, why) in lenient.items():
        case = raw("paths", name, "ogc", data)
        yield RawCase(ok(case.case, why, absent=("evil.example",)), case.raw)


def _trusted_forwarding() -> Iterator[RawCase]:
    """Loopback is a trusted proxy by default: what it forwards is believed, but checked."""
    values = [
        b"X-Forwarded-Host: evil.example/<script>hx()</script>",
        b"X-Forwarded-Host: a b",
        b"X-Forwarded-Host: [::1",
        b"X-Forwarded-Host: evil.example:99999",
        b"X-Forwarded-Proto: javascript",
        b"X-Forwarded-Prefix: //evil.example",
        b'X-Forwarded-Prefix: /"><img src=x onerror=hx()>',
        b'Forwarded: host="evil.example\\"<b>hx</b>";proto=https',
        b"Forwarded: for=unknown;host=;proto=ftp",
    ]
    for i, header in enumerate(values):
        for path, facade in ((b"/hamburg/", "ogc"), (b"/hamburg/sta/v1.1", "sta")):
            case = raw(
                "headers", f"trusted-forwarded-{i}:{facade}", facade, request(b"GET", path, header)
            )
            why = "a trusted proxy's forwarded values are used only where they are valid"
            yield RawCase(ok(case.case, why, absent=("<script", "<b>hx", "javascript:")), case.raw)
    html = request(b"GET", b"/hamburg/?f=html", values[6])
    case = raw("headers", "trusted-forwarded-html", "ogc", html)
    yield RawCase(ok(case.case, "escaped wherever the page shows a link"), case.raw)


def exchange(url: str, data: bytes) -> tuple[bytes, float]:
    """Send `data`, read until the server closes; the time to the first byte of the answer."""
    parts = urlsplit(url)
    out = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        started = time.perf_counter()
        with contextlib.suppress(OSError):  # answered and closed while we were still sending
            s.sendall(data)
        first = None
        try:
            while select.select([s], [], [], 10)[0] and (chunk := s.recv(65536)):
                first = first or time.perf_counter()
                out += chunk
        except OSError:
            pass
    return out, ((first or time.perf_counter()) - started) * 1000


def answer_of(data: bytes) -> Answer:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines and lines[0].startswith("HTTP/1.1 "), data[:200]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return Answer(int(lines[0].split()[1]), headers, body)


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out
