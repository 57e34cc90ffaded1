"""The SensorThings part of a profile (`kind: sensorthings`): what profile.yaml's
`observed_properties`, `thing_properties` and `datastream_properties` say, parsed, and the
check that schema.json says the same, so that the two files cannot drift apart.

A sensorthings profile's schema describes one Datastream (with Thing, ObservedProperty and
Sensor expanded): its top level is a `oneOf` of `$ref`s to `$defs/<key>`, one per observed
property, each fixing `ObservedProperty.name/definition`, `unitOfMeasurement.symbol/
definition`, `observationType` and `Observations[].result` (type, minimum, maximum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
# Result type -> the observationType a Datastream with such results declares (STA 1.1,
# Table 12); a result type fixes the observationType, so profiles name only the former.
OBSERVATION_TYPES = {
    "number": OM + "OM_Measurement",
    "integer": OM + "OM_CountObservation",
    "boolean": OM + "OM_TruthObservation",
    "string": OM + "OM_CategoryObservation",
}
UCUM_BASE = "http://unitsofmeasure.org/ucum.html#"


@dataclass(frozen=True)
class ObservedPropertySpec:
    """One observed property of a profile: what its Datastreams must look like."""

    key: str
    name: str
    definition: str
    description: str
    unit: dict[str, str]  # name, symbol (the UCUM code), definition (UCUM URL)
    result_type: str
    minimum: float | None = None
    maximum: float | None = None
    smart_data_models: tuple[str, ...] = ()  # "Model.attribute" of the NGSI sources

    @property
    def ucum(self) -> str:
        return self.unit["symbol"]

    @property
    def observation_type(self) -> str:
        return OBSERVATION_TYPES[self.result_type]

    def observed_property(self) -> dict[str, str]:
        """The ObservedProperty entity a Datastream of this property links to."""
        return {"name": self.name, "definition": self.definition, "description": self.description}

    def result_problem(self, result: Any) -> str | None:
        """Why `result` is not a result of this property (type, range), or None."""
        if not _is_type(result, self.result_type):
            return f"result {result!r} is not of type {self.result_type}"
        if self.minimum is not None and result < self.minimum:
            return f"result {result!r} is below the plausible minimum {self.minimum}"
        if self.maximum is not None and result > self.maximum:
            return f"result {result!r} is above the plausible maximum {self.maximum}"
        return None


def _is_type(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "number":
        return isinstance(value, int | float)
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return kind == "string" and isinstance(value, str)


@dataclass(frozen=True)
class SensorThingsSpec:
    observed_properties: dict[str, ObservedPropertySpec]
    thing_properties: tuple[str, ...]
    datastream_properties: tuple[str, ...]

    def by_definition(self, uri: Any) -> ObservedPropertySpec | None:
        return next((p for p in self.observed_properties.values() if p.definition == uri), None)

    def by_attribute(self, model: str, attribute: str) -> ObservedPropertySpec | None:
        """The observed property an attribute of a Smart Data Models entity type stands for."""
        name = f"{model}.{attribute}"
        return next(
            (p for p in self.observed_properties.values() if name in p.smart_data_models), None
        )


class SpecError(ValueError):
    """profile.yaml's SensorThings part is unusable, or schema.json disagrees with it."""


def parse(meta: dict[str, Any]) -> SensorThingsSpec:
    table = meta.get("observed_properties")
    if not isinstance(table, dict) or not table:
        raise SpecError("observed_properties: expected a non-empty mapping")
    specs = {str(k): _observed(str(k), v) for k, v in table.items()}
    definitions = [p.definition for p in specs.values()]
    if len(set(definitions)) != len(definitions):
        raise SpecError("observed_properties: two properties share a definition URI")
    return SensorThingsSpec(
        specs,
        tuple(str(k) for k in meta.get("thing_properties") or ()),
        tuple(str(k) for k in meta.get("datastream_properties") or ()),
    )


def _observed(key: str, raw: Any) -> ObservedPropertySpec:
    where = f"observed_properties.{key}"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected a mapping")
    missing = [k for k in ("name", "definition", "unit", "result_type") if not raw.get(k)]
    if missing:
        raise SpecError(f"{where}: missing {', '.join(missing)}")
    if raw["result_type"] not in OBSERVATION_TYPES:
        raise SpecError(f"{where}.result_type: one of {', '.join(OBSERVATION_TYPES)}")
    unit = raw["unit"]
    if not isinstance(unit, dict) or not all(unit.get(k) for k in ("name", "symbol", "definition")):
        raise SpecError(f"{where}.unit: needs name, symbol (UCUM code) and definition")
    if unit["definition"] != UCUM_BASE + unit["symbol"]:
        raise SpecError(f"{where}.unit.definition: expected {UCUM_BASE}{unit['symbol']}")
    low, high = (list(raw.get("range") or ()) + [None, None])[:2]
    return ObservedPropertySpec(
        key=key,
        name=str(raw["name"]),
        definition=str(raw["definition"]),
        description=str(raw.get("description", "")),
        unit={k: str(unit[k]) for k in ("name", "symbol", "definition")},
        result_type=str(raw["result_type"]),
        minimum=low,
        maximum=high,
        smart_data_models=tuple(str(a) for a in raw.get("smart_data_models") or ()),
    )


def _const(schema: dict[str, Any], *path: str) -> Any:
    node: Any = schema
    for step in path:
        node = node.get(step, {}) if isinstance(node, dict) else {}
    return node


def check_schema(spec: SensorThingsSpec, schema: dict[str, Any], pid: str, version: str) -> None:
    """schema.json must say what profile.yaml says; raise SpecError naming the first
    disagreement."""
    defs = schema.get("$defs") or {}
    refs = [b.get("$ref") for b in schema.get("oneOf") or [] if isinstance(b, dict)]
    wanted = [f"#/$defs/{k}" for k in spec.observed_properties]
    if sorted(refs) != sorted(wanted):
        raise SpecError(f"oneOf must reference exactly {wanted}, found {refs}")
    for key, p in spec.observed_properties.items():
        d = defs.get(key, {})
        result = _const(d, "properties", "Observations", "items", "properties", "result")
        expected = {
            ("ObservedProperty", "name"): p.name,
            ("ObservedProperty", "definition"): p.definition,
            ("unitOfMeasurement", "symbol"): p.unit["symbol"],
            ("unitOfMeasurement", "definition"): p.unit["definition"],
        }
        for (entity, prop), value in expected.items():
            got = _const(d, "properties", entity, "properties", prop, "const")
            if got != value:
                raise SpecError(f"$defs.{key}: {entity}.{prop} is {got!r}, profile.yaml {value!r}")
        got_type = _const(d, "properties", "observationType", "const")
        if got_type != p.observation_type:
            raise SpecError(
                f"$defs.{key}: observationType {got_type!r}, expected {p.observation_type}"
            )
        found = (result.get("type"), result.get("minimum"), result.get("maximum"))
        if found != (p.result_type, p.minimum, p.maximum):
            raise SpecError(f"$defs.{key}: result (type, minimum, maximum) {found} disagrees")
    top = schema.get("properties") or {}
    for name, keys, consts in (
        ("properties", spec.datastream_properties, {"profile": pid, "profileVersion": version}),
        ("Thing", spec.thing_properties, {}),
    ):
        node = (
            top.get(name, {})
            if name == "properties"
            else _const(top, name, "properties", "properties")
        )
        if sorted(node.get("required") or []) != sorted(keys):
            raise SpecError(
                f"properties.{name}: required {node.get('required')}, expected {list(keys)}"
            )
        for key, value in consts.items():
            if key in keys and _const(node, "properties", key, "const") != value:
                raise SpecError(f"properties.{name}.{key} must be the constant {value!r}")
