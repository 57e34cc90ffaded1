"""Adds the rate-limit middleware to an app when any limit is configured."""

from __future__ import annotations

from starlette.applications import Starlette

from gateway.config import GatewayConfig
from gateway.ratelimit.counters import Counters
from gateway.ratelimit.middleware import Policy, RateLimit
from gateway.shared.state import SharedState


def add_rate_limits(app: Starlette, config: GatewayConfig, shared: SharedState) -> None:
    server = config.server
    tenants = {tid: t.rate_limits for tid, t in config.tenants.items()}
    policy = Policy(server.rate_limits, tenants, server.forwarded_allow_ips)
    if policy.active:
        counters = Counters(shared if shared.enabled else None)
        app.add_middleware(RateLimit, policy=policy, counters=counters)
        app.state.rate_limit_counters = counters
