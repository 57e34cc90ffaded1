"""`twinbridge map check`: run each profiled collection's mapping over every record of its
source and count, per property, what maps, what is missing, and how many source values
fail the cast, the profile's range or its code list. Streams: counters only.

The range and code-list counts come from the data-quality accumulator
(gateway/quality), fed the mapped features, so `map check` and `twinbridge quality`
count alike; a cast failure is seen here only, where the source value is still at hand.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import profiles
from connectors import paths
from gateway.config import CollectionConfig, LoadedConfig
from gateway.mapping.compile import Getter, Mapper, compile_rule, reader
from gateway.mapping.rules import ARITHMETIC, OPERATIONS, MappingRule
from gateway.mapwizard.source import SourceSpec, build, records, total
from gateway.quality.accumulator import QualityAccumulator

EXAMPLES = 3
Progress = Callable[[str, int, int | None], None]  # (collection, records read, total)


@dataclass
class PropertyCheck:
    name: str
    required: bool
    rule: str | None  # the rule as written; None: not mapped
    present: int = 0  # records whose source value is not empty
    failed: int = 0  # ... that the rule turned into null (cast, format, code list)
    defaulted: int = 0  # ... that the rule could not map, so its `default` stands in
    out_of_range: int = 0
    outside_code_list: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return self.failed + self.out_of_range + self.outside_code_list


@dataclass
class CollectionCheck:
    tenant: str
    collection: str
    profile: str
    items: int = 0
    valid: int = 0
    duplicate_ids: int = 0
    properties: list[PropertyCheck] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def missing(self) -> list[str]:
        return [p.name for p in self.properties if p.required and p.rule is None]

    @property
    def accepted(self) -> bool:
        bad = any(p.problems for p in self.properties) or self.valid < self.items
        bad = bad or self.duplicate_ids > 0
        return not (self.error or self.missing or self.unknown_fields or bad)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "collection": self.collection,
            "profile": self.profile,
            "accepted": self.accepted,
            "items": self.items,
            "valid": self.valid,
            "duplicate_ids": self.duplicate_ids,
            "missing_required": self.missing,
            "unknown_fields": self.unknown_fields,
            "error": self.error,
            "properties": {
                p.name: {
                    "mapped": p.rule,
                    "required": p.required,
                    "present": p.present,
                    "failed_rule": p.failed,
                    "defaulted": p.defaulted,
                    "out_of_range": p.out_of_range,
                    "outside_code_list": p.outside_code_list,
                    "examples": p.examples,
                }
                for p in self.properties
            },
        }


def _inputs(rule: Any) -> list[str]:
    return list(rule.source_fields())


async def check_collection(
    tenant: str, cid: str, cfg: CollectionConfig, loaded: LoadedConfig, progress: Progress | None
) -> CollectionCheck:
    assert cfg.profile is not None and cfg.mapping is not None
    profile = profiles.get(cfg.profile)
    report = CollectionCheck(tenant, cid, profile.id)
    rules = cfg.mapping.rules()
    required = set(profile.schema["properties"]["properties"].get("required", []))
    figures = QualityAccumulator(profile)
    checks = {
        name: PropertyCheck(name, name in required, _describe(rules.get(name)))
        for name in figures.names
    }
    report.properties = list(checks.values())
    mapper = Mapper(cfg.mapping, list(profile.properties()))
    readers = {n: [reader(f) for f in _inputs(r)] for n, r in rules.items() if n in checks}
    spec = SourceSpec(
        {"connector": cfg.source.connector, **cfg.source.options()}, loaded.base_dir, loaded.origin
    )
    try:
        # difference, product, quotient need every operand: a value is there when all are
        every = {n for n, r in rules.items() if r.operation and r.operation[0] in ARITHMETIC}
        bare = {n: _without_default(r) for n, r in rules.items() if n in checks and r.default}
        count = partial(_count, readers=readers, checks=checks, every=every, bare=bare)
        await _read(spec, mapper, figures, count, report, progress)
    except Exception as e:  # a source that cannot be read is the report's answer
        report.error = f"{type(e).__name__}: {e}"
    _take_quality(report, figures, checks)
    return report


async def _read(
    spec: SourceSpec,
    mapper: Mapper,
    figures: QualityAccumulator,
    count: Callable[[Any, Any], None],
    report: CollectionCheck,
    progress: Progress | None = None,
) -> None:
    """Every record through the mapping into the counters."""
    connector = build(spec)
    await connector.open()
    try:
        described = {f.name for f in (await connector.describe()).fields}
        report.unknown_fields = _unknown(mapper, described)
        expected = await total(connector)
        async for record in records(connector):
            feature = mapper(record)
            figures.add(feature)
            count(record, feature)
            if progress is not None and figures.items % 500 == 0:
                progress(f"{report.tenant}/{report.collection}", figures.items, expected)
    finally:
        await connector.close()


def _describe(rule: Any) -> str | None:
    """The rule in a few words: its origin, then the steps (a code list by its size)."""
    if rule is None:
        return None
    data = rule.model_dump(by_alias=True, exclude_none=True)
    key = next(k for k in ("from", "template", "collect", *OPERATIONS, "constant") if k in data)
    origin = data.pop(key)
    if key == "constant":
        origin = repr(origin)
    elif key != "from" and key != "template":  # the columns read, by the key's name
        origin = f"{key} of {', '.join(map(str, origin))}"
    if "codes" in data:
        data["codes"] = f"{len(data['codes'])} codes"
    steps = ", ".join(f"{k} {v}" for k, v in data.items())
    return f"{origin} ({steps})" if steps else str(origin)


def _unknown(mapper: Mapper, described: set[str]) -> list[str]:
    wanted = mapper.inputs() or ()
    out = []
    for name in wanted:
        parts = paths.parse(name)
        plain = parts[0] if len(parts) == 1 and isinstance(parts[0], str) else name
        if name not in described and plain not in described:
            out.append(name)
    return out


def _without_default(rule: MappingRule) -> Getter:
    """The rule as if it had no default: what it makes of a value, before the fallback."""
    return compile_rule(rule.model_copy(update={"default": None}))


def _count(
    record: Any,
    feature: Any,
    readers: dict[str, list[Any]],
    checks: dict[str, PropertyCheck],
    every: Collection[str] = (),
    bare: Mapping[str, Getter] | None = None,
) -> None:
    props = record.get("properties") or {}
    mapped = feature["properties"]
    for name, reads in readers.items():
        values = [read(props) for read in reads]
        there = [v is not None and v != "" for v in values]
        if not (all(there) if name in every else any(there)):
            continue
        check = checks[name]
        check.present += 1
        if bare and name in bare and bare[name](props) in (None, "", []):
            check.defaulted += 1
        if mapped.get(name) is None or mapped.get(name) == []:
            check.failed += 1
            if len(check.examples) < EXAMPLES:
                check.examples.append(repr(values[0] if len(values) == 1 else values))


def _take_quality(
    report: CollectionCheck, figures: QualityAccumulator, checks: dict[str, PropertyCheck]
) -> None:
    quality = figures.report()
    report.items, report.valid = quality["items"], quality["valid"]["count"]
    report.duplicate_ids = quality["ids"]["duplicates"]
    for name, n in quality["out_of_range"].items():
        if name in checks:
            checks[name].out_of_range = n
    for name, n in quality["outside_code_list"].items():
        if name in checks:
            checks[name].outside_code_list = n


async def check_config(
    loaded: LoadedConfig, only: str | None = None, progress: Progress | None = None
) -> list[CollectionCheck]:
    """Every profiled feature collection (or only `tenant/collection`)."""
    out = []
    for tenant, tcfg in loaded.config.tenants.items():
        for cid, cfg in tcfg.collections.items():
            if cfg.profile is None or only not in (None, f"{tenant}/{cid}"):
                continue
            out.append(await check_collection(tenant, cid, cfg, loaded, progress))
    return out
