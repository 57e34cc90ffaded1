"""`twinbridge config check`: probe every source the way a request would use it."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.catalog import Catalog, CollectionSource
from gateway.config import LoadedConfig
from gateway.errors import GatewayError
from gateway.query.model import Query


@dataclass
class SourceReport:
    tenant: str
    collection: str
    connector: str
    profile: str | None
    items: int | None = None
    problems: list[str] = field(default_factory=list)


async def _probe(source: CollectionSource) -> SourceReport:
    report = SourceReport(
        source.tenant,
        source.id,
        source.cfg.source.connector,
        source.profile.id if source.profile else None,
    )
    await source.open()
    if source.open_error:
        report.problems.append(source.open_detail or source.open_error)
        return report
    try:
        report.items = await source.count(Query(limit=1))
        page = await source.items(Query(limit=1))
    except GatewayError as e:
        report.problems.append(getattr(e, "detail", None) or e.description)
        return report
    if report.items and not page.features:
        report.problems.append("counted items but could not read one")
    if source.profile:
        for feature in page.features:
            report.problems += [
                f"item {feature['id']}: {m}" for m in source.profile.validate(feature)
            ]
    await source.close()
    return report


async def check_sources(loaded: LoadedConfig) -> list[SourceReport]:
    catalog = Catalog(loaded)
    return [await _probe(s) for s in catalog.sources()]
