"""The compiled mapping: turns a source record (source field names) into a profile-shaped
feature.

A mapping is compiled once per collection into a list of small closures, so the per-feature
cost is a handful of dict lookups. A `from` that is a path (`address.street`) reads the
record's key of that name when the connector flattened the record at its edge, and walks
the nested value otherwise (a GeoJSON file's nested properties), so a rule works either way.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from connectors import paths
from gateway.mapping.casts import caster, text, to_integer, to_number
from gateway.mapping.combine import Report, collect_getter, operation_getter
from gateway.mapping.read import Getter, Record, add_items, reader
from gateway.mapping.rules import TEMPLATE_FIELD, Mapping, MappingRule

Feature = dict[str, Any]
__all__ = ["Feature", "Getter", "Mapper", "Record", "compile_rule", "reader"]


def _template_getter(template: str) -> Getter:
    readers = {name: reader(name) for name in TEMPLATE_FIELD.findall(template)}

    def get(props: Record) -> Any:
        values = {name: read(props) for name, read in readers.items()}
        if all(v is None or v == "" for v in values.values()):
            return None
        filled = TEMPLATE_FIELD.sub(lambda m: text(values[m.group(1)]), template)
        return " ".join(filled.split())  # a missing part leaves no double blank

    return get


def compile_rule(rule: MappingRule, report: Report | None = None) -> Getter:
    """One profile property: read (field/constant/template/columns/operation) -> split ->
    code list -> cast -> unit -> default. `report(field, problem)` counts source values
    an operation could not use (the data-quality counter)."""
    get = _value_getter(rule, report)
    if rule.default is None:
        return get
    default = rule.default

    def get_or_default(props: Record) -> Any:
        value = get(props)
        return default if value is None or value == "" else value

    return get_or_default


def _value_getter(rule: MappingRule, report: Report | None) -> Getter:
    if rule.constant is not None:
        constant = rule.constant
        return lambda props: constant
    if rule.template is not None:
        return _template_getter(rule.template)
    if rule.collect is not None:
        return collect_getter(rule.collect, rule.split, _steps(rule))
    if rule.operation is not None:
        return operation_getter(rule, report)
    source = rule.from_
    assert source is not None
    if rule.split is not None:
        return _list_getter(source, rule.split, _steps(rule))
    return _field_getter(source, _steps(rule))


def _steps(rule: MappingRule) -> list[Callable[[Any], Any]]:
    """What happens to a field's value, in order: code list, cast, unit."""
    steps: list[Callable[[Any], Any]] = []
    if rule.codes is not None:
        codes = {str(k): v for k, v in rule.codes.items()}
        steps.append(lambda v: codes.get(text(v)))
    if rule.type is not None:
        steps.append(caster(rule.type if rule.factor is None else "number", rule.format))
    if rule.factor is not None or rule.offset is not None:
        factor, offset = rule.factor or 1.0, rule.offset or 0.0
        rounding = to_integer if rule.type == "integer" else _round_unit
        steps.append(lambda v: None if v is None else rounding(to_number(v) * factor + offset))
    return steps


def _field_getter(source: str, steps: list[Callable[[Any], Any]]) -> Getter:
    """Read `source` and run the steps; null or '' (and any step's null) gives null."""
    read = reader(source)
    if not steps:
        return read
    if len(steps) == 1:  # most rules: one cast or one code list; no loop per value
        (step,) = steps

        def get_one(props: Record) -> Any:
            value = read(props)
            return None if value is None or value == "" else step(value)

        return get_one

    def get(props: Record) -> Any:
        value = read(props)
        if value is None or value == "":
            return None
        for step in steps:
            value = step(value)
            if value is None:
                return None
        return value

    return get


def _list_getter(source: str, separator: str, steps: list[Callable[[Any], Any]]) -> Getter:
    """A multi-valued field: split text at `separator` (a list is taken as is), run the
    steps on each item, keep the non-null results once each, in order. Null or '' gives
    null; a field whose items all fail gives []."""
    read = reader(source)

    def get(props: Record) -> Any:
        value = read(props)
        if value is None or value == "":
            return None
        out: list[Any] = []
        add_items(value if isinstance(value, list) else text(value), separator, steps, out)
        return out

    return get


def _round_unit(value: float) -> float:
    """Unit conversions leave float noise (31.400000000000002); six decimals is plenty."""
    return round(value, 6)


def _rename_source(rule: MappingRule) -> str | None:
    """The source field of a plain rename (the value is copied as is), else None. A path
    is no plain rename: its value may have to be walked to."""
    if rule.type or rule.codes is not None or rule.factor is not None or rule.offset is not None:
        return None
    if rule.split is not None or rule.default is not None:
        return None
    return None if rule.from_ is None or paths.is_path(rule.from_) else rule.from_


class Mapper:
    """A compiled mapping: `mapper(record) -> feature`.

    Plain renames are most of a typical mapping (every rule of a PostGIS view made for the
    profile), so they are copied by one dict lookup each; only the other rules (casts,
    units, code lists, constants, templates) run as closures. Values are filled into a copy
    of `template`, which holds the profile's property order whichever loop sets them.
    """

    def __init__(
        self,
        mapping: Mapping | None,
        property_order: list[str] | None = None,
        report: Report | None = None,
    ) -> None:
        self.identity = mapping is None
        self.id_field = mapping.id if mapping else None
        rules = mapping.rules() if mapping else {}
        order = property_order or list(rules)
        ordered = [n for n in order if n in rules] + [n for n in rules if n not in order]
        self.sources: dict[str, MappingRule] = rules
        self.renames: list[tuple[str, str]] = []
        self.computed: list[tuple[str, Getter]] = []
        for name in ordered:
            source = _rename_source(rules[name])
            if source is not None:
                self.renames.append((name, source))
            else:
                self.computed.append((name, compile_rule(rules[name], report)))
        # Renames alone are set in profile order anyway: then an empty dict is the fastest start.
        self.template: dict[str, Any] = dict.fromkeys(ordered) if self.computed else {}
        self._names = tuple(name for name, _ in self.renames)
        self._sources = tuple(source for _, source in self.renames)
        # One C call reads every renamed field of a complete record (a database row always is).
        self._read = itemgetter(*self._sources) if len(self._sources) > 1 else None
        self.computed_rules = [(n, rules[n]) for n, _ in self.computed]
        same_names = not self.computed and self._names == self._sources
        if self.identity or not same_names or self.id_field in self._sources:
            self._passthrough = 0
        else:  # the number of fields a projected record holds
            self._passthrough = len(self._names) + (1 if self.id_field else 0)

    def inputs(self) -> tuple[str, ...] | None:
        """The source fields the rules read, renamed ones first (in profile order), then
        the id field: what a connector that projects must fetch. None: everything."""
        if self.identity:
            return None
        fields = list(self._sources)
        for _, rule in self.computed_rules:
            fields += rule.source_fields()
        if self.id_field:
            fields.append(self.id_field)
        return tuple(dict.fromkeys(fields))

    def take(self, record: Record) -> Feature:
        """Map a record the caller hands over (fresh from a query projected to `inputs()`):
        when every rule keeps its field's name, the record's properties become the
        feature's as they are, without a copy."""
        props = record.get("properties")
        if self._passthrough and props is not None and len(props) == self._passthrough:
            fid = props.pop(self.id_field) if self.id_field else record.get("id")
            return {
                "type": "Feature",
                "id": fid,
                "geometry": record.get("geometry"),
                "properties": props,
            }
        return self(record)

    def _renamed(self, props: Record) -> tuple[Any, ...]:
        if self._read is not None:
            try:
                return self._read(props)  # type: ignore[no-any-return]
            except KeyError:  # a field missing from this record (a sparse file): null
                pass
        get = props.get
        return tuple(get(source) for source in self._sources)

    def __call__(self, record: Record) -> Feature:
        props = record.get("properties") or {}
        fid = props.get(self.id_field) if self.id_field else record.get("id")
        if self.identity:
            mapped = dict(props)
        else:
            mapped = self.template.copy()
            mapped.update(zip(self._names, self._renamed(props), strict=True))
            for name, rule in self.computed:
                mapped[name] = rule(props)
        return {
            "type": "Feature",
            "id": fid,
            "geometry": record.get("geometry"),
            "properties": mapped,
        }
