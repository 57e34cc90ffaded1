"""The mapping model: how a profile property is computed from a source record.

It sits below the planner and the facades (they read it, it reads nothing of theirs) and
above the connectors, whose field names (paths, for nested records: connectors/paths.py)
it names in `from` and in templates.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors import paths

TEMPLATE_FIELD = re.compile(r"{([^{}]+)}")


class MappingRule(BaseModel):
    """How one profile property is computed from a source record."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(
        None,
        alias="from",
        description="Source field to read; a path into a nested record reads a leaf: "
        "`temperature.value`, `address.street`, `sensors[0].unit` (a name holding '.', '[' "
        "or ']' escapes it with a backslash).",
    )
    type: Literal["string", "integer", "number", "boolean", "date", "datetime"] | None = Field(
        None, description="Cast the value to this type."
    )
    format: str | None = Field(
        None, description="strptime format for date/datetime sources that are not ISO 8601."
    )
    factor: float | None = Field(None, description="Multiply numeric values (unit conversion).")
    offset: float | None = Field(None, description="Add to numeric values after the factor.")
    split: str | None = Field(
        None,
        description="Split a text value at this separator into a list (a multi-valued field "
        "such as 'Typ 2, CCS'); the code list and the cast then apply to each item, items "
        "that give null and repeats are dropped. A list value (a JSON array) is taken as is.",
    )
    codes: dict[str | int, Any] | None = Field(
        None, description="Code list: source value -> profile value (keys compared as text)."
    )
    constant: Any = Field(None, description="A fixed value for every feature.")
    template: str | None = Field(
        None,
        description="A string template over source fields (or paths), e.g. "
        "'{strasse} {hausnr}' or '{address.street} {address.number}'.",
    )

    @field_validator("from_")
    @classmethod
    def _a_path(cls, value: str | None) -> str | None:
        if value is not None:
            paths.parse(value)  # a PathError is a ValueError: pydantic names the key
        return value

    @field_validator("template")
    @classmethod
    def _template_paths(cls, value: str | None) -> str | None:
        for name in TEMPLATE_FIELD.findall(value or ""):
            paths.parse(name)
        return value

    @model_validator(mode="after")
    def _one_origin(self) -> MappingRule:
        origins = [self.from_ is not None, self.constant is not None, self.template is not None]
        if sum(origins) != 1:
            raise ValueError("give exactly one of 'from', 'constant' or 'template'")
        if self.split is not None and (self.from_ is None or not self.split):
            raise ValueError("'split' needs 'from' and a non-empty separator")
        if self.split is not None and (self.factor is not None or self.offset is not None):
            raise ValueError("'split' does not combine with 'factor' or 'offset'")
        if self.format and self.type not in ("date", "datetime"):
            raise ValueError("'format' only applies with type date or datetime")
        return self


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        None, description="Source field holding the feature id (default: the source's own id)."
    )
    properties: dict[str, str | MappingRule] = Field(
        default_factory=dict,
        description="Profile property -> source field name, or a mapping rule.",
    )

    @field_validator("properties")
    @classmethod
    def _paths(cls, value: dict[str, str | MappingRule]) -> dict[str, str | MappingRule]:
        for rule in value.values():
            if isinstance(rule, str):
                paths.parse(rule)
        return value

    def rules(self) -> dict[str, MappingRule]:
        return {
            name: MappingRule(**{"from": rule}) if isinstance(rule, str) else rule
            for name, rule in self.properties.items()
        }
