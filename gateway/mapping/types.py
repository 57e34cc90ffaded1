"""The type of each mapped property, for a collection without a profile to declare them:
its schema and queryables are then the mapping's names, typed from the rules and the
source's own field types (a rename keeps its field's type, a cast gives its own)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.mapping.rules import MappingRule


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "json"


def _common(types: set[str]) -> str:
    if len(types) == 1:
        return types.pop()
    return "number" if types == {"integer", "number"} else "json"


def property_type(rule: MappingRule, source_types: Mapping[str, str]) -> str:
    """A FieldType name (connectors.base.FieldType) for the values the rule gives."""
    if rule.constant is not None:
        return _value_type(rule.constant)
    if rule.template is not None:
        return "string"
    if rule.operation is not None:
        return "integer" if rule.type == "integer" else "number"
    if rule.factor is not None or rule.offset is not None:
        return "integer" if rule.type == "integer" else "number"
    if rule.type is not None:
        return rule.type
    if rule.codes is not None:
        return _common({_value_type(v) for v in rule.codes.values() if v is not None} or {"json"})
    if rule.collect is not None:  # typed by its items, as a `split` list is
        return _common({source_types.get(c, "json") for c in rule.collect})
    return source_types.get(rule.from_ or "", "json")


def property_types(
    rules: Mapping[str, MappingRule], source_types: Mapping[str, str]
) -> dict[str, str]:
    return {name: property_type(rule, source_types) for name, rule in rules.items()}
