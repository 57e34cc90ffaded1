"""Links follow a reverse proxy only when the proxy is trusted (server.forwarded_allow_ips):
from any other peer, `Forwarded` and X-Forwarded-* are ignored, so no client can point the
links of a (cached) answer at another host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import ConfigError, parse_config
from gateway.forwarded import TrustedProxies, forwarded
from gateway.server import demo_config

PROXY = ("192.0.2.3", 40000)  # inside the trusted network below
STRANGER = ("198.51.100.7", 40000)
FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "twin.example.org",
    "X-Forwarded-Prefix": "/gw",
}


@pytest.fixture(scope="module")
def proxied_app(demo_dir: Path) -> Iterator[TestClient]:
    loaded = demo_config()
    loaded.config.server.forwarded_allow_ips = ["192.0.2.0/29", "::1"]
    with TestClient(create_app(loaded), client=PROXY) as client:
        yield client


def data_link(client: TestClient, headers: dict[str, str], path: str = "/hamburg/") -> str:
    doc = client.get(path, headers=headers).json()
    return next(link["href"] for link in doc["links"] if link["rel"] == "data")


def test_a_trusted_proxy_shapes_the_links(proxied_app: TestClient):
    assert data_link(proxied_app, FORWARDED) == "https://twin.example.org/gw/hamburg/collections"


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(proxied_app: TestClient):
    stranger = TestClient(proxied_app.app, client=STRANGER)
    headers = {**FORWARDED, "Forwarded": "host=evil.example;proto=https", "Host": "gw:8080"}
    assert data_link(stranger, headers) == "http://gw:8080/hamburg/collections"


def test_the_default_trusts_only_loopback(demo_client: TestClient):
    # TestClient's peer is "testclient": not an address, never trusted by default.
    assert data_link(demo_client, FORWARDED) == "http://testserver/hamburg/collections"
    loopback = TestClient(demo_client.app, client=("127.0.0.1", 5000))
    assert data_link(loopback, FORWARDED) == "https://twin.example.org/gw/hamburg/collections"


def test_rfc7239_forwarded_wins_and_forged_elements_on_the_left_are_ignored(
    proxied_app: TestClient,
):
    # The client sent its own element first; our proxy appended the real one.
    forged = 'for=203.0.113.9;host=evil.example;proto=http, for="198.51.100.7:1234";'
    headers = {"Forwarded": forged + "host=twin.example.org;proto=https"}
    assert data_link(proxied_app, headers) == "https://twin.example.org/hamburg/collections"
    # Two trusted hops: the element of the public-facing proxy counts.
    chain = "for=198.51.100.7;host=public.example;proto=https, for=192.0.2.5;host=gw:8080"
    headers = {"Forwarded": chain, "X-Forwarded-Prefix": "/twin"}
    assert data_link(proxied_app, headers) == "https://public.example/twin/hamburg/collections"


def test_hostile_values_from_a_trusted_proxy_are_still_rejected(proxied_app: TestClient):
    evil = {
        "X-Forwarded-Host": 'evil"><script>',
        "X-Forwarded-Proto": "javascript",
        "X-Forwarded-Prefix": '/"><x',
    }
    doc = proxied_app.get("/", headers=evil).json()
    assert all(link["href"].startswith("http://testserver/") for link in doc["links"])
    assert data_link(proxied_app, {"Forwarded": 'host="a b";proto=https'}) == (
        "https://testserver/hamburg/collections"
    )
    # A malformed Forwarded header is ignored as a whole.
    assert data_link(proxied_app, {"Forwarded": "host=twin.example.org;;=x"}) == (
        "http://testserver/hamburg/collections"
    )


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("192.0.2.7", True),
        ("192.0.2.8", False),
        ("::1", True),
        ("::ffff:192.0.2.1", True),  # IPv4-mapped, as a dual-stack socket reports it
        ("testclient", False),
        (None, False),
        ("", False),
    ],
)
def test_peers_are_matched_against_addresses_and_networks(peer: str | None, trusted: bool):
    proxies = TrustedProxies(("192.0.2.0/29", "::1"))
    assert (peer in proxies) is trusted
    assert forwarded(Headers({"x-forwarded-host": "a.example"}), peer, proxies).host == (
        "a.example" if trusted else None
    )


def test_several_values_take_the_one_our_proxy_set():
    headers = Headers(raw=[(b"x-forwarded-host", b"evil.example"), (b"x-forwarded-host", b"b.ex")])
    assert forwarded(headers, "10.0.0.1", TrustedProxies(("*",))).host == "b.ex"


def test_trust_is_configured_as_a_list_or_a_comma_separated_string(tmp_path: Path):
    server = {"forwarded_allow_ips": "10.0.0.0/8, 2001:db8::/32,*"}
    loaded = parse_config({"server": server}, "t.yaml", tmp_path)
    assert loaded.config.server.forwarded_allow_ips == ["10.0.0.0/8", "2001:db8::/32", "*"]
    with pytest.raises(ConfigError, match=r"server.forwarded_allow_ips.*'proxy.local' is not"):
        parse_config({"server": {"forwarded_allow_ips": ["proxy.local"]}}, "t.yaml", tmp_path)
