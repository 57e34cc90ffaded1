"""What the profile says of each property, gathered for matching: its names, type, unit,
range, codes and the words sources use for them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gateway.quality.rules import delivered_properties
from profiles import Profile


@dataclass(frozen=True)
class Alias:
    """One name a source may give the property; `factor` converts that quantity."""

    name: str
    factor: float = 1.0
    why: str = ""
    append: tuple[str, ...] = ()


@dataclass
class Target:
    name: str
    types: set[str]
    required: bool
    aliases: list[Alias]
    format: str | None = None  # date, date-time, uri
    pattern: str | None = None  # a regular expression every value matches
    unit: str | None = None
    minimum: float = -math.inf
    maximum: float = math.inf
    codes: list[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    code_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    many: bool = False  # an array: a multi-valued field
    hints: dict[str, Any] = field(default_factory=dict)  # the profile's `drafting:` entry

    @property
    def aggregate(self) -> str | None:
        """'max', 'sum' or 'min': how numbered columns (one per item) make this value."""
        value = self.hints.get("aggregate")
        return str(value) if value in ("max", "sum", "min") else None

    @property
    def per_item(self) -> list[Alias]:
        """Names of the per-item column an aggregate is over ('nennleistung stecker')."""
        return [_alias(a) for a in self.hints.get("of") or ()]

    @property
    def absolute(self) -> list[Alias]:
        """Names a source gives this height when it is an elevation above the datum."""
        return [_alias(a) for a in self.hints.get("absolute") or ()]

    @property
    def scalar_type(self) -> str:
        for kind in ("integer", "number", "boolean", "string"):
            if kind in self.types:
                return kind
        return "string"


def _alias(entry: Any) -> Alias:
    if isinstance(entry, dict):
        return Alias(
            str(entry["name"]),
            float(entry.get("factor", 1.0)),
            str(entry.get("why", "")),
            tuple(entry.get("append") or ()),
        )
    return Alias(str(entry))


def _types(schema: dict[str, Any]) -> set[str]:
    kinds = schema.get("type", [])
    return set(kinds if isinstance(kinds, list) else [kinds]) - {"null"}


def targets(profile: Profile) -> list[Target]:
    """One Target per property a city delivers, in the profile's order."""
    props = profile.properties()
    schema = profile.schema["properties"]["properties"]
    required = set(schema.get("required", []))
    found: list[Target] = []
    for name in delivered_properties(profile):
        prop = props[name]
        items = prop.get("items") if isinstance(prop.get("items"), dict) else None
        inner = items or prop
        enum = inner.get("enum")
        codes = [str(c) for c in enum if c is not None] if isinstance(enum, list) else None
        labels = profile.code_lists.get(name, {})
        if codes is None and labels:
            codes = list(labels)
        aliases = [Alias(name.replace("_", " ")), Alias(str(prop.get("title", name)))]
        found.append(
            Target(
                name=name,
                types=_types(inner) if items else _types(prop),
                required=name in required,
                aliases=aliases + [_alias(a) for a in profile.synonyms.get(name, ())],
                format=inner.get("format"),
                pattern=inner.get("pattern"),
                unit=prop.get("x-ogc-unit"),
                minimum=float(prop.get("minimum", -math.inf)),
                maximum=float(prop.get("maximum", math.inf)),
                codes=codes,
                labels=dict(labels),
                code_words=profile.code_synonyms.get(name, {}),
                many=items is not None,
                hints=profile.drafting.get(name, {}),
            )
        )
    return found
