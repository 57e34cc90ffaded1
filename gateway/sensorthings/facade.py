"""The SensorThings facade as the application sees it: built once from the configuration,
opened and closed by the app's lifespan, contributing its routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.routing import BaseRoute

from gateway.access.openapi import api_security
from gateway.config import LoadedConfig
from gateway.resilience import SourceGuard, effective
from gateway.sensorthings.auth import access_writes
from gateway.sensorthings.routes import SensorThings
from gateway.sensorthings.ws.endpoint import MqttWebSockets

log = logging.getLogger("twinbridge.sensorthings")


def build_service(tenant: str, loaded: LoadedConfig) -> Any:
    cfg = loaded.config.tenants[tenant].sensorthings
    assert cfg is not None
    settings = loaded.config.server.sensorthings
    if cfg.upstream is not None:
        from gateway.sensorthings.proxy import UpstreamService

        return UpstreamService(tenant, cfg, settings)
    from gateway.sensorthings.service import EmbeddedService

    return EmbeddedService(tenant, cfg, settings, loaded.base_dir)


class GuardedService:
    """A tenant's service as requests see it: its reads run under the tenant's guard
    (deadline, breaker, bulkhead), whether an upstream or the embedded store answers."""

    def __init__(self, service: Any, guard: SourceGuard) -> None:
        self.service = service
        self.guard = guard

    def __getattr__(self, name: str) -> Any:
        return getattr(self.service, name)

    async def get(self, path: Any, options: Any, links: Any) -> Any:
        return await self.guard.call(self.service.get(path, options, links))


class StaFacade:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        tenants = loaded.config.tenants
        server = loaded.config.server
        self.services = {
            t: build_service(t, loaded) for t, cfg in tenants.items() if cfg.sensorthings
        }
        for tenant, service in self.services.items():
            if hasattr(service, "access_writes"):
                service.access_writes = access_writes(tenants[tenant].access)
        if server.base_url:
            for service in self.services.values():
                if hasattr(service, "use_base_url"):
                    service.use_base_url(server.base_url)
        self.guarded = {
            tenant: GuardedService(service, self._guard(tenant, loaded))
            for tenant, service in self.services.items()
        }
        federated = None
        if self.services:
            from gateway.sensorthings.federated import FederatedService

            # /sta/ leaves out the tenants whose reading is not public (as the Features
            # root does): it answers every client alike
            public = {t: s for t, s in self.guarded.items() if tenants[t].access.public_read}
            federated = FederatedService(public, server.sensorthings, server.federation)
        self.api = SensorThings(server, self.guarded, federated)
        self.api.security = {
            t: api_security(tenants[t].access, server.access) for t in self.services
        }
        self.websockets = MqttWebSockets(server, self.services)
        self.bridge: Any | None = None
        self.policies: dict[str, Any] = {}  # tenant -> gateway.access.Access, set by the app
        self._tasks: list[asyncio.Task[None]] = []
        from gateway.sensorthings.sync.scheduler import SyncScheduler

        self.sync = SyncScheduler(loaded, self.services)

    @staticmethod
    def _guard(tenant: str, loaded: LoadedConfig) -> SourceGuard:
        cfg = loaded.config.tenants[tenant].sensorthings
        assert cfg is not None
        settings = effective(loaded.config.server.resilience, cfg.resilience)
        return SourceGuard(f"{tenant}/sta", settings)

    def open_circuits(self) -> list[str]:
        return [g.guard.name for g in self.guarded.values() if g.guard.breaker.open]

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [*self.websockets.routes(), *self.api.routes()]
        if self.sync.states:
            from gateway.sensorthings.sync.notify import notification_route

            routes.append(notification_route(self.sync, self.loaded.config.server))
        return routes

    async def open(self) -> None:
        for tenant, service in self.services.items():
            await service.open()
            log.info("tenant %s: SensorThings ready", tenant)
        broker = self.loaded.config.server.sensorthings.mqtt
        if broker is not None and self.services:
            from gateway.sensorthings.mqtt import MqttBridge

            self.bridge = MqttBridge(
                broker, self.services, self.loaded.config.server.base_url, self.policies
            )
            await self.bridge.start()
            self.api.mqtt = self.bridge
        if self.services:
            await self.websockets.start(broker)
            self.api.websockets = self.websockets
        from gateway.sensorthings.aot import schedule_imports

        self._tasks = schedule_imports(self.loaded, self.services)
        self.sync.start()

    async def close(self) -> None:
        await self.sync.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.websockets.stop()
        if self.bridge is not None:
            await self.bridge.stop()
        for service in self.services.values():
            await service.close()
