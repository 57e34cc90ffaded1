"""The draft as YAML text: a collection block to paste under a tenant's `collections:`,
each rule commented with its evidence and confidence, unmatched properties listed."""

from __future__ import annotations

from typing import Any

import yaml

from gateway.mapping.rules import OPERATIONS
from gateway.mapwizard.draft import Draft
from gateway.mapwizard.targets import targets

INDENT = "    "
LONG = 60  # a column list longer than this gets a line of its own


def _flow(value: Any) -> str:
    """One value on one line, quoted where YAML needs it."""
    text = yaml.safe_dump(
        value, default_flow_style=True, allow_unicode=True, width=10_000, sort_keys=False
    )
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _block(value: Any, indent: str) -> list[str]:
    text = yaml.safe_dump(value, default_flow_style=False, allow_unicode=True, sort_keys=False)
    return [indent + line for line in text.splitlines()]


def level(confidence: float) -> str:
    return "high" if confidence >= 0.85 else "medium" if confidence >= 0.7 else "low: check"


def render(d: Draft, collection: str = "new-collection", tenant: str | None = None) -> str:
    """The collection block; with `tenant`, a whole configuration holding it."""
    text = _collection(d, collection)
    if tenant is None:
        return text
    head, body = text.split(f"{collection}:\n", 1)
    nested = "".join(f"      {line}\n" if line else "\n" for line in body.splitlines())
    return f"{head}tenants:\n  {tenant}:\n    collections:\n      {collection}:\n{nested}"


def _collection(d: Draft, collection: str) -> str:
    lines = [
        f"# Drafted by `twinbridge map draft` from {d.source.origin} ({d.sample_size} records",
        f"# sampled) for profile {d.profile.id} {d.profile.version}. Check every 'low' line.",
        f"{collection}:",
        f"  profile: {d.profile.id}",
        f"  profile_version: {_flow(d.profile.version)}",
        "  source:",
    ]
    block = dict(d.source.shown)
    if (
        d.id_field
        and "id_field" not in block
        and block.get("connector") in ("csv", "geojson", "geopackage")
    ):
        block["id_field"] = d.id_field.replace("\\", "")
    lines += _block(block, INDENT)
    lines += ["  mapping:"]
    lines += [
        f"    id: {_flow(d.id_field)}  # {d.id_evidence}"
        if d.id_field
        else f"    # id: {d.id_evidence}"
    ]
    lines += ["    properties:" if d.chosen else "    properties: {}  # nothing matched"]
    for target in targets(d.profile):
        p = d.chosen.get(target.name)
        if p is None:
            continue
        why = f"{'; '.join(p.evidence)}; confidence {p.confidence:.2f} ({level(p.confidence)})"
        head = f"      {target.name}:"
        if isinstance(p.rule, dict) and ("codes" in p.rule or _long_list(p.rule)):
            lines.append(f"{head}  # {why}")
            lines += _rule_lines(p.rule, p.code_notes, "        ")
            if p.unmatched_codes:
                lines.append(f"        # not on the code list: {', '.join(p.unmatched_codes)}")
        else:
            lines.append(f"{head} {_flow(p.rule)}  # {why}")
    missing = [t for t in d.unmatched if t.required]
    optional = [t for t in d.unmatched if not t.required]
    if missing:
        lines.append("      # UNMATCHED required properties (give a from, template or constant):")
        lines += [f"      # {t.name}: {_hint(t)}" for t in missing]
    if optional:
        lines.append(f"      # unmatched optional: {', '.join(t.name for t in optional)}")
    if d.decisions:
        lines.append("      # DECIDE (the data cannot tell the wizard):")
        lines += [f"      # {decision}" for decision in d.decisions]
    return "\n".join(lines) + "\n"


def _long_list(rule: dict[str, Any]) -> bool:
    """A `collect:` or an operation over many columns: one key per line reads better."""
    keys = ("collect", *OPERATIONS)
    return any(len(_flow(rule[k])) > LONG for k in keys if k in rule)


def _rule_lines(rule: dict[str, Any], notes: dict[str, str], indent: str) -> list[str]:
    lines = []
    for key, value in rule.items():
        if key != "codes":
            lines.append(f"{indent}{key}: {_flow(value)}")
            continue
        lines.append(f"{indent}codes:")
        for source, code in value.items():
            note = notes.get(source)
            lines.append(
                f"{indent}  {_flow({source: code})[1:-1]}" + (f"  # {note}" if note else "")
            )
    return lines


def _hint(target: Any) -> str:
    kind = "/".join(sorted(target.types)) + (f" ({target.format})" if target.format else "")
    codes = f", one of {', '.join(target.codes[:6])}" if target.codes else ""
    return f"{kind}{codes}{f' in {target.unit}' if target.unit else ''}"
