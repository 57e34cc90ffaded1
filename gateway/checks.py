"""`twinbridge config check`: probe every source the way a request would use it."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors import paths
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
    report.problems += _unmapped_fields(source)
    report.problems += await source.connector.problems()
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


def _unmapped_fields(source: CollectionSource) -> list[str]:
    """Mapping rules that read a field the source does not describe: they would map to null
    on every item, silently (a renamed column upstream, a typo in the YAML)."""
    described = source.description_
    wanted = source.mapper.inputs()
    if described is None or wanted is None:
        return []
    have = {f.name for f in described.fields} | {described.id_field, "id"}
    known = ", ".join(sorted(f.name for f in described.fields)) or "none"
    return [
        f"the mapping reads '{name}', which the source does not have (it has: {known})"
        for name in wanted
        if name not in have and _field_name(name) not in have
    ]


def _field_name(name: str) -> str:
    """The field a one-name path escapes ('Max\\. Leistung Ladepunkt \\[W\\]' names the
    CSV column 'Max. Leistung Ladepunkt [W]'); any other name as it is."""
    try:
        parts = paths.parse(name)
    except paths.PathError:
        return name
    return parts[0] if len(parts) == 1 and isinstance(parts[0], str) else name


async def check_sources(loaded: LoadedConfig) -> list[SourceReport]:
    catalog = Catalog(loaded)
    return [await _probe(s) for s in catalog.sources()]
