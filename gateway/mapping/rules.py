"""The mapping model: how a profile property is computed from a source record.

It sits below the planner and the facades (they read it, it reads nothing of theirs) and
above the connectors, whose field names (paths, for nested records: connectors/paths.py)
it names in `from` and in templates.
"""

from __future__ import annotations

import re
from numbers import Real
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors import paths

TEMPLATE_FIELD = re.compile(r"{([^{}]+)}")
# Keys that compute a number from several operands (source fields or numbers).
AGGREGATES = ("sum", "min", "max")  # over the operands present: a null one is skipped
ARITHMETIC = ("difference", "product", "quotient")  # a null operand gives null
OPERATIONS = AGGREGATES + ARITHMETIC
Operand = str | float
_OPERANDS = (
    " Each operand is a source field (a path) or a number; a value that is no number is "
    "left out and counted as a data-quality problem."
)


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

    collect: list[str] | None = Field(
        None,
        description="Source fields (paths) gathered into one list, e.g. the columns "
        "`Steckertypen1`..`Steckertypen4`: nulls and repeats are dropped, `split`, the code "
        "list and the cast apply to each value as with `split`; all columns empty gives null.",
    )
    sum: list[Operand] | None = Field(
        None, description="The sum of the operands present (nulls skipped)." + _OPERANDS
    )
    min: list[Operand] | None = Field(
        None, description="The least of the operands present (nulls skipped)." + _OPERANDS
    )
    max: list[Operand] | None = Field(
        None, description="The greatest of the operands present (nulls skipped)." + _OPERANDS
    )
    difference: list[Operand] | None = Field(
        None,
        description="The first operand minus the second, e.g. `[HoeheDach, HoeheGrund]`; "
        "a null operand gives null." + _OPERANDS,
    )
    product: list[Operand] | None = Field(
        None, description="The product of the operands; a null operand gives null." + _OPERANDS
    )
    quotient: list[Operand] | None = Field(
        None,
        description="The first operand divided by the second; a null operand or a division "
        "by zero gives null." + _OPERANDS,
    )
    default: Any = Field(
        None,
        description="The value when the rule gives null: the source value is absent or "
        "empty, has no entry in `codes`, or does not cast. Applied last: read -> split -> "
        "codes -> cast -> factor/offset -> default.",
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

    @field_validator("collect")
    @classmethod
    def _columns(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(value) < 2:
            raise ValueError("name at least two source fields to collect")
        for name in value or ():
            paths.parse(name)
        return value

    @field_validator(*OPERATIONS)
    @classmethod
    def _operands(cls, value: list[Operand] | None) -> list[Operand] | None:
        if value is None:
            return None
        if len(value) < 2:
            raise ValueError("give at least two operands")
        for operand in value:
            if isinstance(operand, str):
                paths.parse(operand)
        if all(not isinstance(operand, str) for operand in value):
            raise ValueError("name at least one source field among the operands")
        return value

    @model_validator(mode="after")
    def _one_origin(self) -> MappingRule:
        given = [key for key in ("from", "constant", "template", "collect") if self._has(key)]
        given += [key for key in OPERATIONS if getattr(self, key) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(repr(k) for k in given)})" if given else ""
            raise ValueError(
                "give exactly one of 'from', 'constant', 'template', 'collect' or one of "
                + ", ".join(repr(k) for k in OPERATIONS)
                + found
            )
        self._check_operation()
        self._check_default()
        if self.split is not None and (self.from_ is None and self.collect is None):
            raise ValueError("'split' needs 'from' or 'collect'")
        if self.split is not None and not self.split:
            raise ValueError("'split' needs a non-empty separator")
        if self.collect is not None and (self.factor is not None or self.offset is not None):
            raise ValueError("'collect' does not combine with 'factor' or 'offset'")
        if self.split is not None and (self.factor is not None or self.offset is not None):
            raise ValueError("'split' does not combine with 'factor' or 'offset'")
        if self.format and self.type not in ("date", "datetime"):
            raise ValueError("'format' only applies with type date or datetime")
        return self

    def _has(self, key: str) -> bool:
        return getattr(self, "from_" if key == "from" else key) is not None

    def _check_operation(self) -> None:
        operation = self.operation
        if operation is None:
            return
        key, operands = operation
        if key in ("difference", "quotient") and len(operands) != 2:
            raise ValueError(f"'{key}' takes exactly two operands")
        for other in ("split", "codes", "format"):
            if getattr(self, other) is not None:
                raise ValueError(f"'{key}' computes a number: it does not combine with '{other}'")
        if self.type not in (None, "integer", "number"):
            raise ValueError(f"'{key}' computes a number: 'type' may be integer or number")

    def _check_default(self) -> None:
        if self.default is None:
            return
        if self.constant is not None:
            raise ValueError("'default' has no use with 'constant' (it is never null)")
        if self.gives_list:
            if not isinstance(self.default, list):
                raise ValueError("'default' of a list ('split' or 'collect') must be a list")
            return
        expected = _DEFAULT_TYPES.get(self.type or ("number" if self.operation else ""))
        if expected is not None and not _fits(self.default, expected):
            kind = self.type or "number"
            raise ValueError(f"'default' must be of type {kind}, like the rule's values")

    @property
    def operation(self) -> tuple[str, list[Operand]] | None:
        """(key, operands) of a rule that computes a number from several operands."""
        for key in OPERATIONS:
            operands = getattr(self, key)
            if operands is not None:
                return key, operands
        return None

    @property
    def gives_list(self) -> bool:
        """Whether the rule's values are lists (`split` or `collect`)."""
        return self.split is not None or self.collect is not None

    @property
    def computed(self) -> bool:
        """Whether the value is computed from several source fields (`collect` or an
        operation): no single source column holds it, so it is never pushed down."""
        return self.collect is not None or self.operation is not None

    def source_fields(self) -> list[str]:
        """Every source field (or path) the rule reads, in the order it names them."""
        if self.from_ is not None:
            return [self.from_]
        if self.template is not None:
            return list(dict.fromkeys(TEMPLATE_FIELD.findall(self.template)))
        if self.collect is not None:
            return list(dict.fromkeys(self.collect))
        operation = self.operation
        if operation is not None:
            return list(dict.fromkeys(o for o in operation[1] if isinstance(o, str)))
        return []


_DEFAULT_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "date": (str,),
    "datetime": (str,),
    "integer": (int,),
    "number": (Real,),
    "boolean": (bool,),
}


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    """A default of the rule's type (True is no number here, though Python says so)."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


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
