"""Rate limits in process (no Redis configured): who counts as a client, which tenant a
request belongs to, the 429 in each facade's shape, and what is never limited."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prometheus_client import REGISTRY

from gateway.errors import Unauthorized
from gateway.ratelimit.middleware import Policy
from gateway.ratelimit.settings import RateLimitSettings, TenantRateLimits
from tests.shared.conftest import instance

ITEMS = "/a/collections/trees/items"


def refused_count(limit: str) -> float:
    return REGISTRY.get_sample_value("twinbridge_rate_limited_total", {"limit": limit}) or 0.0


def test_a_client_over_its_limit_gets_429_with_retry_after_in_the_ogc_shape(
    configure: Any,
) -> None:
    config = configure({"rate_limits": {"per_client": "2/minute"}})
    with instance(config) as client:
        before = refused_count("client")
        assert [client.get(ITEMS).status_code for _ in range(2)] == [200, 200]
        r = client.get(ITEMS)
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 120  # at most two windows
        body = r.json()
        assert body["code"] == "TooManyRequests" and "rate limit" in body["description"]
        assert body["requestId"] == r.headers["x-request-id"]
        assert refused_count("client") == before + 1
        # SensorThings paths answer in the SensorThings error shape
        sta = client.get("/a/sta/v1.1/Things")  # the same budget: tenant a
        assert sta.status_code == 429
        assert sta.json()["type"] == "error" and sta.json()["code"] == 429
        for path in ("/health", "/ready", "/metrics"):
            assert client.get(path).status_code == 200, path


def test_a_tenant_limit_counts_all_clients_and_a_tenant_may_set_its_own(configure: Any) -> None:
    config = configure(
        {"rate_limits": {"per_tenant": "3/minute"}},
        c={"trees": {"source": {"connector": "geojson", "path": "b.geojson"}}},
    )
    text = config.read_text().replace(
        "  c:\n", "  c:\n    rate_limits:\n      per_tenant: 1/minute\n", 1
    )
    config.write_text(text)
    with instance(config) as client:
        assert [client.get(ITEMS).status_code for _ in range(4)] == [200, 200, 200, 429]
        other = [client.get("/b/collections/trees/items").status_code for _ in range(3)]
        assert other == [200, 200, 200]  # each tenant its own budget
        assert [client.get("/c/collections/trees/items").status_code for _ in range(2)] == [
            200,
            429,
        ]
        # the federated API has no tenant: only per-client limits apply there
        assert [client.get("/collections").status_code for _ in range(5)] == [200] * 5


def policy(proxies: list[str] | None = None) -> Policy:
    return Policy(
        RateLimitSettings(per_client="10/minute", per_tenant="100/minute"),
        {"a": None, "b": TenantRateLimits(per_client="1/second")},
        proxies or ["127.0.0.1"],
    )


def scope(path: str, peer: str, headers: dict[str, str] | None = None, **state: Any) -> Any:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"type": "http", "path": path, "client": (peer, 5000), "headers": raw, "state": state}


def test_the_client_is_the_principal_when_an_authentication_layer_set_one() -> None:
    p = policy()
    who = SimpleNamespace(id="key:tree-app")
    assert p.client(scope("/a/", "203.0.113.9", principal=who)) == "principal:key:tree-app"
    assert p.client(scope("/a/", "203.0.113.9", principal=None)) == "ip:203.0.113.9"


def test_the_client_address_comes_from_a_trusted_proxy_only() -> None:
    p = policy()
    forwarded = {"x-forwarded-for": "198.51.100.7, 127.0.0.1"}
    assert p.client(scope("/", "127.0.0.1", forwarded)) == "ip:198.51.100.7"
    # anyone else's header is ignored: a client cannot pick another's budget
    assert p.client(scope("/", "203.0.113.9", forwarded)) == "ip:203.0.113.9"
    standard = {"forwarded": 'for=198.51.100.8, for="[2001:db8::1]:4711"'}
    assert p.client(scope("/", "127.0.0.1", standard)) == "ip:2001:db8::1"


def test_limits_per_path_tenant_and_override() -> None:
    p = policy()
    limits, names = p.limits(scope("/a/collections/trees/items", "203.0.113.9"))
    assert names == ["client", "tenant"]
    assert limits[0] == ("client:a:ip:203.0.113.9", 10, 60.0)
    assert limits[1] == ("tenant:a", 100, 60.0)
    limits, _ = p.limits(scope("/b/sta/v1.1/Things", "203.0.113.9"))
    assert limits[0] == ("client:b:ip:203.0.113.9", 1, 1.0)
    limits, names = p.limits(scope("/collections/street-trees/items", "203.0.113.9"))
    assert names == ["client"] and limits[0][0] == "client:-:ip:203.0.113.9"
    assert not Policy(RateLimitSettings(), {"a": None}, []).active


class KeyPolicy:
    """Stands in for a tenant's access policy (gateway/access): a key names a principal."""

    def identify(self, headers: Any) -> Any:
        key = headers.get("x-api-key")
        if key is None:
            return None
        if key != "good":
            raise Unauthorized("the credential is not valid for this tenant")
        return SimpleNamespace(id="key:tree-app")


def test_the_tenants_access_policy_names_the_client_when_routes_decide_access_later() -> None:
    p = policy()
    app = SimpleNamespace(state=SimpleNamespace(access={"a": KeyPolicy()}))

    def request(headers: dict[str, str], **state: Any) -> Any:
        return {**scope("/a/collections/trees/items", "203.0.113.9", headers, **state), "app": app}

    assert p.client(request({"x-api-key": "good"}), "a") == "principal:key:tree-app"
    assert p.client(request({"x-api-key": "forged"}), "a") == "ip:203.0.113.9"
    assert p.client(request({}), "a") == "ip:203.0.113.9"
    anonymous = SimpleNamespace(id="anonymous")  # shared by every client: not a budget
    assert p.client(request({}, principal=anonymous), "a") == "ip:203.0.113.9"
    limits, _ = p.limits(request({"x-api-key": "good"}))
    assert limits[0][0] == "client:a:principal:key:tree-app"
