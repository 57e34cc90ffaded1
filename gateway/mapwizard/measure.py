"""How far a draft is from a hand-written mapping: the edits a person makes before `map
check` accepts it. A property needs an edit when the drafted rule maps any record of the
whole source differently from the hand-written one (or one of them lacks it); the lines
are those of the hand-written rule that replace it (a dropped rule: one line).
Used for the README's table and the test that keeps it true."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

import profiles
from gateway.config import LoadedConfig
from gateway.mapping.compile import Mapper
from gateway.mapping.rules import Mapping
from gateway.mapwizard.check import check_collection
from gateway.mapwizard.draft import draft
from gateway.mapwizard.emit import render
from gateway.mapwizard.source import SourceSpec, build, records


@dataclass
class Edits:
    tenant: str
    collection: str
    profile: str
    properties: int = 0  # of the hand-written mapping
    changed: list[str] = field(default_factory=list)  # rule differs
    added: list[str] = field(default_factory=list)  # the draft has none
    dropped: list[str] = field(default_factory=list)  # the draft has one too many
    id_changed: bool = False
    lines: int = 0
    draft_accepted: bool = False  # by `map check`, as drafted

    @property
    def edits(self) -> int:
        return len(self.changed) + len(self.added) + len(self.dropped) + self.id_changed


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _lines(rule: Any) -> int:
    """The lines the rule takes as YAML, written as in demo.yaml (a code list one a line)."""
    if not isinstance(rule, str):
        rule = rule.model_dump(by_alias=True, exclude_none=True)
    text = yaml.safe_dump({"p": rule}, allow_unicode=True, sort_keys=False, width=100)
    return len(text.splitlines())


async def measure(loaded: LoadedConfig, tenant: str, cid: str) -> Edits:
    cfg = loaded.config.tenants[tenant].collections[cid]
    assert cfg.profile is not None and cfg.mapping is not None
    profile = profiles.get(cfg.profile)
    block = {"connector": cfg.source.connector, **cfg.source.options()}
    spec = SourceSpec(block, loaded.base_dir, f"{loaded.origin}#{tenant}/{cid}")
    text = render(await draft(spec, profile), cid)  # measured as printed: comments and all
    drafted = Mapping.model_validate(yaml.safe_load(text)[cid]["mapping"])
    hand = cfg.mapping
    report = Edits(tenant, cid, profile.id, properties=len(hand.properties))
    ours, theirs = drafted.rules(), hand.rules()
    report.added = [n for n in theirs if n not in ours]
    report.dropped = [n for n in ours if n not in theirs]
    common = [n for n in theirs if n in ours]
    report.id_changed = (drafted.id or None) != (hand.id or None)
    differ = await _differing(spec, Mapper(drafted), Mapper(hand), common)
    report.changed = [n for n in common if n in differ]
    as_drafted = cfg.model_copy(update={"mapping": drafted})
    report.draft_accepted = (await check_collection(tenant, cid, as_drafted, loaded, None)).accepted
    report.lines = (
        sum(_lines(hand.properties[n]) for n in report.changed + report.added)
        + len(report.dropped)
        + report.id_changed
    )
    return report


async def _differing(spec: SourceSpec, ours: Mapper, theirs: Mapper, names: list[str]) -> set[str]:
    """The properties whose values differ on at least one record of the whole source."""
    connector = build(spec)
    differ: set[str] = set()
    await connector.open()
    try:
        async for record in records(connector):
            a, b = ours(record)["properties"], theirs(record)["properties"]
            differ |= {n for n in names if n not in differ and not _same(a.get(n), b.get(n))}
    finally:
        await connector.close()
    return differ


async def measure_all(loaded: LoadedConfig) -> list[Edits]:
    """Every collection of a features profile in the configuration."""
    out = []
    for tenant, tcfg in loaded.config.tenants.items():
        for cid, cfg in tcfg.collections.items():
            if cfg.profile and profiles.get(cfg.profile).kind == "features":
                out.append(await measure(loaded, tenant, cid))
    return out


HEADER = (
    "| collection | profile | properties | edits | lines | draft accepted as is | what to edit |\n"
    "|---|---|---|---|---|---|---|\n"
)


def table(rows: list[Edits]) -> str:
    """The figures as the Markdown table docs/mapping-wizard.md holds."""
    out = [HEADER]
    for e in rows:
        what = [f"{n} (changed)" for n in e.changed] + [f"{n} (added)" for n in e.added]
        what += [f"{n} (dropped)" for n in e.dropped] + (["id"] if e.id_changed else [])
        accepted = "yes" if e.draft_accepted else "no"
        out.append(
            f"| {e.tenant}/{e.collection} | {e.profile} | {e.properties} | {e.edits} | "
            f"{e.lines} | {accepted} | {', '.join(what) or '–'} |\n"
        )
    return "".join(out)
