"""Rate limits per client and per tenant, answered 429 with Retry-After in the error shape
of the facade the path belongs to (gateway/limits.py). /health, /ready and /metrics are
never limited: a load balancer or Prometheus must not be locked out by client traffic.

A Redis outage never turns into 429s or 500s: the counters fall back to each worker's own
(gateway/ratelimit/counters.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import metrics
from gateway.access.policy import ANONYMOUS, Access, Principal
from gateway.context import REQUEST_ID, new_request_id
from gateway.errors import GatewayError
from gateway.forwarded import client_address, trusted_proxies
from gateway.limits import error_document
from gateway.ratelimit.counters import Counters, Limit
from gateway.ratelimit.settings import Rate, RateLimitSettings, TenantRateLimits

EXEMPT = frozenset({"/health", "/ready", "/metrics"})
SCOPES = ("client", "tenant")


class Policy:
    """Which limits a request is checked against: its client's (per tenant, or the
    federated API) and its tenant's; a tenant's `rate_limits` override the server's."""

    def __init__(
        self,
        server: RateLimitSettings,
        tenants: dict[str, TenantRateLimits | None],
        proxies: list[str],
    ) -> None:
        self.trusted = trusted_proxies(tuple(proxies))
        self.default = _rates(server.per_client, server.per_tenant)
        self.tenants = {
            tid: _rates(
                (t.per_client if t and t.per_client else server.per_client),
                (t.per_tenant if t and t.per_tenant else server.per_tenant),
            )
            for tid, t in tenants.items()
        }

    @property
    def active(self) -> bool:
        return any(r != (None, None) for r in (self.default, *self.tenants.values()))

    def limits(self, scope: Scope) -> tuple[list[Limit], list[str]]:
        """The (key, requests, window) to check, and for each its scope's name."""
        first = scope["path"].split("/", 2)[1] if scope["path"].count("/") else ""
        tenant = first if first in self.tenants else None
        per_client, per_tenant = self.tenants[tenant] if tenant else self.default
        limits: list[Limit] = []
        names: list[str] = []
        if per_client is not None:
            client = f"{tenant or '-'}:{self.client(scope, tenant)}"
            limits.append((f"client:{client}", per_client.limit, per_client.window))
            names.append("client")
        if per_tenant is not None and tenant is not None:
            limits.append((f"tenant:{tenant}", per_tenant.limit, per_tenant.window))
            names.append("tenant")
        return limits, names

    def client(self, scope: Scope, tenant: str | None = None) -> str:
        """The principal (see `principal_id`), else the client's address as a trusted proxy
        forwarded it."""
        principal_id = _principal_id(scope, tenant)
        if principal_id:
            return f"principal:{principal_id}"
        peer = scope.get("client")
        address = client_address(Headers(scope=scope), peer[0] if peer else None, self.trusted)
        return f"ip:{address or 'unknown'}"


def _principal_id(scope: Scope, tenant: str | None) -> str | None:
    """Who the request says it is: `request.state.principal.id` when a layer before this
    one set it; else, as routes decide access themselves after this middleware, what the
    tenant's access policy makes of the credential. A credential it refuses, or none,
    counts the client by address (the route answers 401 itself); so does the shared
    'anonymous' principal."""
    principal: Principal | None = scope.get("state", {}).get("principal")
    if principal is None and tenant is not None:
        app = scope.get("app")  # set by Starlette; absent where the middleware runs alone
        policies: Mapping[str, Access] = app.state.access if app is not None else {}
        policy = policies.get(tenant)
        if policy is not None:
            try:
                principal = policy.identify(Headers(scope=scope))
            except GatewayError:
                principal = None
    if principal is None or principal.id == ANONYMOUS.id:
        return None
    return principal.id


def _rates(per_client: str | None, per_tenant: str | None) -> tuple[Rate | None, Rate | None]:
    return (
        Rate.parse(per_client) if per_client else None,
        Rate.parse(per_tenant) if per_tenant else None,
    )


class RateLimit:
    def __init__(self, app: ASGIApp, policy: Policy, counters: Counters) -> None:
        self.app = app
        self.policy = policy
        self.counters = counters

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        limits, names = self.policy.limits(scope)
        if not limits:
            await self.app(scope, receive, send)
            return
        verdict = await self.counters.hit(limits)
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        which = names[verdict.which]
        metrics.RATE_LIMITED.labels(which).inc()
        await _refuse(scope, send, which, verdict.retry_after)


async def _refuse(scope: Scope, send: Send, which: str, retry_after: int) -> None:
    whose = "this client's" if which == "client" else "this tenant's"
    message = f"too many requests: {whose} rate limit is reached; retry in {retry_after} s"
    target = scope.get("raw_path") or scope["path"].encode()
    request_id = REQUEST_ID.get()
    if request_id == "-":  # not below RequestLog
        request_id = new_request_id(None)
    body = error_document(target, 429, message, request_id)
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(retry_after).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
