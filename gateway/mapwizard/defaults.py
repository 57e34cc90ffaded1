"""Empty values of a code-list property: a `default:` only where the profile declares one
(ALKIS records no Zustand for a building in use), otherwise a decision left to a person.
The wizard never invents a value."""

from __future__ import annotations

from typing import Any

from gateway.mapwizard.match import Proposal
from gateway.mapwizard.targets import Target


def defaults(
    chosen: dict[str, Proposal], wanted: list[Target], raw: dict[str, list[Any]]
) -> list[str]:
    """Add the profile's default where part of the sample is empty; return the decisions."""
    decisions = []
    for target in wanted:
        p = chosen.get(target.name)
        if p is None or target.codes is None or target.many or not isinstance(p.rule, dict):
            continue
        if "from" not in p.rule or p.field not in raw:
            continue
        values = raw[p.field]
        empty = sum(v is None or v == "" for v in values)
        if not 0 < empty < len(values):
            continue
        found = f"{empty} of {len(values)} sampled '{p.field}' are empty"
        value = target.hints.get("default")
        if value is not None and str(value) in target.codes:
            p.rule["default"] = value
            why = target.hints.get("why")
            p.evidence.append(
                f"{found}: the profile's default {value}" + (f" ({why})" if why else "")
            )
        elif target.required:
            decisions.append(
                f"{target.name}: {found} and the profile names no default: leave them null "
                "or give a `default:` code"
            )
    return decisions
