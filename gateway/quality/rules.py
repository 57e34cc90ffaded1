"""What the profile says a value may be: read once from its schema and code lists, so the
per-feature checks are plain comparisons."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from profiles import Profile

# Set by the gateway in a federated collection only; not a property a city delivers.
GATEWAY_PROPERTIES = frozenset({"tenant"})


@dataclass(frozen=True)
class PropertyRule:
    """Plausible values of one property: a numeric range and/or a set of codes."""

    name: str
    minimum: float = -math.inf
    maximum: float = math.inf
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    codes: frozenset[Any] | None = None

    @property
    def has_range(self) -> bool:
        return self.minimum != -math.inf or self.maximum != math.inf

    def out_of_range(self, value: Any) -> bool:
        """A number outside the range; other types are the schema check's business."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if math.isnan(value):
            return True
        low = value <= self.minimum if self.exclusive_minimum else value < self.minimum
        high = value >= self.maximum if self.exclusive_maximum else value > self.maximum
        return low or high

    def outside_codes(self, value: Any) -> bool:
        """A value not in the code list; a list value (a multi-valued property) when any
        of its items is not."""
        if self.codes is None or isinstance(value, dict):
            return False
        if isinstance(value, list):
            return any(v is not None and self.outside_codes(v) for v in value)
        try:
            return value not in self.codes
        except TypeError:  # unhashable: not a code
            return True


def _bound(
    schema: dict[str, Any], plain: str, exclusive: str, default: float
) -> tuple[float, bool]:
    """(bound, exclusive?) from JSON Schema 2020-12 keywords, the tighter one winning."""
    value, strict = default, False
    if isinstance(schema.get(plain), int | float):
        value = float(schema[plain])
    other = schema.get(exclusive)
    if isinstance(other, int | float) and not isinstance(other, bool):
        tighter = other >= value if default < 0 else other <= value
        if tighter:
            value, strict = float(other), True
    return value, strict


def _rule(name: str, schema: dict[str, Any], codes: dict[str, str] | None) -> PropertyRule | None:
    minimum, ex_min = _bound(schema, "minimum", "exclusiveMinimum", -math.inf)
    maximum, ex_max = _bound(schema, "maximum", "exclusiveMaximum", math.inf)
    allowed: set[Any] | None = None
    items = schema.get("items")
    enum = schema.get("enum")
    if enum is None and isinstance(items, dict):
        enum = items.get("enum")  # a multi-valued property: each item from the list
    if isinstance(enum, list):
        allowed = {v for v in enum if v is not None}
    if codes:
        allowed = set(codes) if allowed is None else allowed & set(codes)
    rule = PropertyRule(
        name, minimum, maximum, ex_min, ex_max, None if allowed is None else frozenset(allowed)
    )
    return rule if rule.has_range or rule.codes is not None else None


def delivered_properties(profile: Profile) -> list[str]:
    """The properties a city is expected to deliver, in the profile's order."""
    return [name for name in _properties(profile) if name not in GATEWAY_PROPERTIES]


def property_rules(profile: Profile) -> dict[str, PropertyRule]:
    """Property -> its plausibility rule, for the properties that have one."""
    rules: dict[str, PropertyRule] = {}
    for name, schema in _properties(profile).items():
        if name in GATEWAY_PROPERTIES or not isinstance(schema, dict):
            continue
        rule = _rule(name, schema, profile.code_lists.get(name))
        if rule is not None:
            rules[name] = rule
    return rules


def temporal_property(profile: Profile) -> str | None:
    """What tells how fresh a feature is: the profile's temporal property, else the
    property whose x-ogc-role is primary-instant, else none."""
    if profile.temporal_property:
        return profile.temporal_property
    for name, schema in _properties(profile).items():
        if isinstance(schema, dict) and schema.get("x-ogc-role") == "primary-instant":
            return name
    return None


def _properties(profile: Profile) -> dict[str, Any]:
    """The profile's feature properties; none for a profile that is not feature-shaped
    (a SensorThings profile's schema describes Datastreams, not features)."""
    try:
        return profile.properties()
    except (KeyError, TypeError):
        return {}
