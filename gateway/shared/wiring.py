"""Puts shared state into an app: Redis's response store, shared circuit breakers and
metadata single flight when `server.shared_state.redis_url` is set; nothing otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.remote.metacache import MetadataCache
from gateway.httpcache.store import MemoryStore, ResponseStore
from gateway.shared.breakers import SharedBreakers
from gateway.shared.flight import SharedFlight, scope_of
from gateway.shared.responses import RedisResponseStore
from gateway.shared.settings import SharedStateSettings
from gateway.shared.state import SharedState

if TYPE_CHECKING:
    from gateway.catalog import Catalog
    from gateway.sensorthings.facade import StaFacade


def build_shared(
    settings: SharedStateSettings, catalog: Catalog, sensorthings: StaFacade
) -> SharedState:
    """The shared state, with every source's breaker and metadata cache attached."""
    state = SharedState(settings)
    if not state.enabled:
        return state
    breakers = SharedBreakers(state)
    flight = SharedFlight(state, settings.flight_wait)
    for source in catalog.sources():
        breakers.attach(source.name, source.guard.breaker)
        cache = getattr(source.connector, "cache", None)
        if isinstance(cache, MetadataCache):
            config: Any = source.connector.config
            cache.shared = flight.scoped(scope_of(source.name, config.model_dump_json()))
    for guarded in sensorthings.guarded.values():
        breakers.attach(guarded.guard.name, guarded.guard.breaker)
    return state


def response_store(state: SharedState, max_bytes: int, max_entry_bytes: int) -> ResponseStore:
    """Redis's store (the in-process one behind it for outages), or the in-process one."""
    memory = MemoryStore(max_bytes, max_entry_bytes)
    if not state.enabled:
        return memory
    return RedisResponseStore(state, memory, max_entry_bytes, state.settings.response_ttl)
