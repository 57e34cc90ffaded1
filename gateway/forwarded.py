"""What a reverse proxy tells us about the original request, and whether to believe it.

`Forwarded` (RFC 7239) and `X-Forwarded-Proto/Host/Prefix` are ordinary request headers: any
client can send them. They are read only when the peer of the connection is one of the
proxies named in `server.forwarded_allow_ips` (loopback by default, like uvicorn's
`forwarded_allow_ips`); from anyone else they are ignored. `twinbridge serve` switches
uvicorn's own proxy-header handling off, so this module is the one place that decides
(uvicorn would otherwise replace the peer address with the client's from X-Forwarded-For
before the gateway could check it).

Each proxy appends its element to `Forwarded`, so the elements are read from the right:
the last was added by our trusted peer, and one further left is believed only while the
`for=` of the element to its right names a trusted proxy too. The leftmost believed element
is the one the public-facing proxy added: its `host` and `proto` are what the client used.
`X-Forwarded-*` carry no such chain; of several comma-separated values the last one is
taken, the one our peer set or appended.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

from starlette.datastructures import Headers

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ANY = "*"

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# Values are tokens or quoted strings; unquoted `host:port` (not RFC 7239 but common) is read
# too: every value is checked again where it is used.
_PAIR = re.compile(rf'\s*({_TOKEN})=([^;,\s"]+|"(?:[^"\\]|\\.)*")\s*')


def check_proxy_entry(entry: str) -> str:
    """A `forwarded_allow_ips` entry: `*`, an IP address or a CIDR network."""
    entry = entry.strip()
    if entry != ANY:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                f"'{entry}' is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8, ::1, *)"
            ) from None
    return entry


class TrustedProxies:
    """The peers whose forwarded headers are believed."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.everyone = ANY in entries
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(e, strict=False) for e in entries if e != ANY
        )

    def __contains__(self, host: str | None) -> bool:
        if self.everyone:
            return True
        address = _ip(host)
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


@lru_cache(maxsize=16)
def trusted_proxies(entries: tuple[str, ...]) -> TrustedProxies:
    return TrustedProxies(entries)


def _ip(host: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in a peer or a `for=` node (`192.0.2.1`, `192.0.2.1:80`, `[::1]:80`)."""
    if not host:
        return None
    text = host.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _elements(header: str) -> list[dict[str, str]] | None:
    """The elements of a `Forwarded` header as parameter dicts; None when it is malformed
    (then the whole header is ignored rather than half-believed)."""
    elements: list[dict[str, str]] = []
    current: dict[str, str] = {}
    pos = 0
    while pos < len(header):
        match = _PAIR.match(header, pos)
        if match is None:
            return None
        name, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        current[name] = value
        pos = match.end()
        if pos < len(header):
            if header[pos] not in ";,":
                return None
            if header[pos] == ",":
                elements.append(current)
                current = {}
            pos += 1
    elements.append(current)
    return elements


def _believed(elements: list[dict[str, str]], trusted: TrustedProxies) -> dict[str, str]:
    """The leftmost element of the trusted chain (see the module docstring)."""
    index = len(elements) - 1
    while index > 0 and elements[index].get("for") in trusted:
        index -= 1
    return elements[index]


def _joined(headers: Headers, name: str) -> str | None:
    """A header sent on several lines is one comma-separated list (RFC 9110, 5.3)."""
    values = headers.getlist(name)
    return ",".join(values) if values else None


def _last(headers: Headers, name: str) -> str | None:
    value = _joined(headers, name)
    return value.rsplit(",", 1)[-1].strip() if value else None


@dataclass(frozen=True)
class Forwarded:
    """The original request as the trusted proxy describes it; None where it says nothing."""

    proto: str | None = None
    host: str | None = None
    prefix: str | None = None


def forwarded(headers: Headers, peer: str | None, trusted: TrustedProxies) -> Forwarded:
    if peer not in trusted:
        return Forwarded()
    proto, host = _last(headers, "x-forwarded-proto"), _last(headers, "x-forwarded-host")
    standard = _joined(headers, "forwarded")
    elements = _elements(standard) if standard else None
    if elements:
        element = _believed(elements, trusted)
        proto, host = element.get("proto", proto), element.get("host", host)
    return Forwarded(proto, host, _last(headers, "x-forwarded-prefix"))


def _node(value: str) -> str:
    """A `for=` node or X-Forwarded-For entry without its port (`[::1]:80` -> `::1`)."""
    address = _ip(value)
    return str(address) if address is not None else value.strip()[:64]


def client_address(headers: Headers, peer: str | None, trusted: TrustedProxies) -> str | None:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the first
    address from the right of `Forwarded: for=` (else X-Forwarded-For) that is not a
    trusted proxy itself; the leftmost when all are."""
    if peer not in trusted:
        return peer
    standard = _joined(headers, "forwarded")
    elements = _elements(standard) if standard else None
    chain = [e["for"] for e in elements or () if "for" in e]
    if not chain:
        chain = [v.strip() for v in (_joined(headers, "x-forwarded-for") or "").split(",")]
        chain = [v for v in chain if v]
    for node in reversed(chain):
        if node not in trusted:
            return _node(node)
    return _node(chain[0]) if chain else peer
