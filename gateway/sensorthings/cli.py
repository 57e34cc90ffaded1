"""`twinbridge sta …`: work with a tenant's embedded SensorThings store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.config import ConfigError, LoadedConfig
from gateway.sensorthings.aot import ImportResult, import_plan, read_digest


def import_aot(loaded: LoadedConfig, tenant: str, folder: Path) -> ImportResult:
    """Import an Array-of-Things digest into `tenant`'s store (SQLite or PostgreSQL); a
    folder the tenant's `imports` name is imported with that entry's profile."""
    from gateway.sensorthings.service import EmbeddedService

    cfg = loaded.config.tenants.get(tenant)
    if cfg is None or cfg.sensorthings is None:
        raise ConfigError(f"{loaded.origin}: tenant '{tenant}' has no 'sensorthings' block")
    if cfg.sensorthings.store is None:
        raise ConfigError(
            f"{loaded.origin}: tenant '{tenant}' proxies an upstream; nothing to import into"
        )
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder with nodes.csv, sensors.csv and data.csv.gz")
    digest = read_digest(folder)
    profile = next(
        (
            item.profile_binding()
            for item in cfg.sensorthings.imports
            if (loaded.base_dir / item.path).resolve() == folder.resolve()
        ),
        None,
    )
    service = EmbeddedService(
        tenant, cfg.sensorthings, loaded.config.server.sensorthings, loaded.base_dir
    )

    async def run() -> ImportResult:
        await service.open()
        try:
            return await service.run_write(
                lambda ctx: import_plan(ctx, digest, announce=False, profile=profile)
            )
        finally:
            await service.close()

    return asyncio.run(run())
