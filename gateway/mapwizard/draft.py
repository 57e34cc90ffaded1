"""Draft a collection from a source and a profile: read the description and a sample,
propose a rule per property, pick the id field, list what stays unmatched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.base import Description, Record
from gateway.mapwizard.defaults import defaults
from gateway.mapwizard.families import families, propose_family
from gateway.mapwizard.heights import relative_heights
from gateway.mapwizard.match import Proposal, assign, constants, propose, source_name
from gateway.mapwizard.names import words
from gateway.mapwizard.source import SourceSpec, build, describe_and_sample
from gateway.mapwizard.targets import Target, targets
from gateway.mapwizard.values import Values
from profiles import Profile

SAMPLE = 500
ID_WORDS = {"id", "nummer", "nr", "gmlid", "uuid", "key", "identifier"}


@dataclass
class Draft:
    profile: Profile
    source: SourceSpec
    id_field: str | None
    id_evidence: str
    chosen: dict[str, Proposal]
    unmatched: list[Target]
    sample_size: int = 0
    decisions: list[str] = field(default_factory=list)  # left to a person, with the reason

    def mapping(self) -> dict[str, Any]:
        """The drafted mapping as data (what the YAML says, without the comments)."""
        props = {
            t.name: self.chosen[t.name].rule for t in targets(self.profile) if t.name in self.chosen
        }
        out: dict[str, Any] = {"id": self.id_field} if self.id_field else {}
        return {**out, "properties": props}


async def draft(spec: SourceSpec, profile: Profile, sample: int = SAMPLE) -> Draft:
    description, records = await describe_and_sample(build(spec), sample)
    return draft_from(spec, profile, description, records)


def draft_from(
    spec: SourceSpec, profile: Profile, description: Description, records: list[Record]
) -> Draft:
    names = [f.name for f in description.fields]
    raw = {n: [_value(r, n) for r in records] for n in names}
    columns = {n: Values(n, raw[n]) for n in names}
    id_field, why = _id_field(description, columns)
    candidates = [n for n in names if n != id_field]
    wanted = targets(profile)
    grouped = [propose_family(t, f, raw) for t in wanted for f in families(candidates)]
    proposals = [p for p in grouped if p is not None]  # first: a tie goes to the family
    proposals += [propose(t, n, columns[n], candidates) for t in wanted for n in candidates]
    chosen = assign(proposals)
    for target in wanted:
        found = None if target.name in chosen else constants(target, columns)
        if found is not None:
            chosen[target.name] = found
    relative_heights(chosen, wanted, columns, raw)
    decisions = defaults(chosen, wanted, raw)
    unmatched = [t for t in wanted if t.name not in chosen]
    return Draft(profile, spec, id_field, why, chosen, unmatched, len(records), decisions)


def _value(record: Record, name: str) -> Any:
    props = record.get("properties") or {}
    return props.get(name)


def _id_field(description: Description, columns: dict[str, Values]) -> tuple[str | None, str]:
    """A field named like an id whose sample values are unique; else the source's own."""
    best: tuple[int, str] | None = None
    for name, values in columns.items():
        tokens = set(words(name))
        joined = "".join(words(name))
        named = bool(tokens & ID_WORDS) or joined.endswith("id") or "nummer" in joined
        unique = values.values and len(set(map(str, values.values))) == len(values.values)
        if named and unique and name != "fid":
            score = 2 if joined.endswith("id") else 1
            if best is None or score > best[0]:
                best = (score, name)
    if best is not None:
        return source_name(best[1]), "named like an id, unique in the sample"
    if description.id_field:
        return None, f"the source's own id ({description.id_field})"
    return None, "no id field found: the source's own ids (a CSV's row numbers)"
