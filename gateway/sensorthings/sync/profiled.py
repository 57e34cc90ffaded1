"""A source's SensorThings profile (`profile: air-quality` on a sync entry or an import):
which of its readings are the profile's observed properties, and what their Datastreams say.

A reading of attribute `no2` of an AirQualityObserved (a Smart Data Models attribute the
profile lists, or an attribute mapped in `observed_properties`) whose unit is the profile's
UCUM unit gets the profile's ObservedProperty (name, definition URI), its unitOfMeasurement
and observationType, and the Datastream declares `properties.profile` and
`properties.profileVersion`: that is where a client, and `twinbridge conformance
--profile air-quality`, reads what it conforms to. A reading in another unit (ppb where the
profile says ug/m3) is never declared conforming: it keeps the plain NGSI mapping (Smart
Data Models definition, its own unit).

The NGSI sync finds a reading's property by its Smart Data Models name (`observed`); an
import whose source has no such names (an Array-of-Things digest) maps its own names in
`observed_properties` (`mapped`). Both fill Things and Datastreams through this binding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import profiles
from gateway.sensorthings.sync.convert import Conversion, UnknownConversion
from gateway.sensorthings.sync.units import ucum
from profiles import ObservedPropertySpec, Profile
from profiles.sensorthings import UCUM_BASE

if TYPE_CHECKING:
    from gateway.sensorthings.sync.ngsimap import EntityData

# Required Thing properties a sync or import knows how to fill, from its station: anything
# with an `id` (an NGSI entity, an Array-of-Things node).
THING_VALUES: dict[str, Callable[[Any], str]] = {
    "stationId": lambda entity: str(entity.id),
}
DATASTREAM_KEYS = ("profile", "profileVersion")


class ProfileMismatch(ValueError):
    """The configured profile cannot be served by a sync or import (message says why)."""


@dataclass(frozen=True)
class ProfileBinding:
    profile: Profile
    names: dict[str, str]  # source name (NGSI attribute, digest ontology path) -> profile key
    conversions: dict[str, Conversion] = field(default_factory=dict)  # by attribute

    @classmethod
    def load(
        cls,
        profile_id: str,
        version: str | None,
        names: dict[str, str] | None = None,
        convert: dict[str, str] | None = None,
        types: Sequence[str] = (),
    ) -> ProfileBinding:
        """The binding, or ProfileMismatch/UnknownProfile when the profile does not fit.
        `convert` names, per attribute, the UCUM unit the source reports it in; each must
        be one of the profile's observed properties (by `names` or by its Smart Data Models
        name under one of `types`) with a known conversion to the profile's unit."""
        profile = profiles.get(profile_id)
        spec = profile.sensorthings
        if spec is None:
            raise ProfileMismatch(
                f"profile '{profile_id}' is of kind {profile.kind}, not sensorthings"
            )
        if version is not None and version != profile.version:
            raise ProfileMismatch(
                f"profile '{profile_id}' is installed in version {profile.version}, not {version}"
            )
        unknown = sorted(set((names or {}).values()) - set(spec.observed_properties))
        if unknown:
            raise ProfileMismatch(
                f"observed_properties name unknown keys of '{profile_id}': {unknown}"
            )
        unfilled = [k for k in spec.thing_properties if k not in THING_VALUES]
        unfilled += [k for k in spec.datastream_properties if k not in DATASTREAM_KEYS]
        if unfilled:
            raise ProfileMismatch(
                f"profile '{profile_id}' requires properties a sync cannot fill: {unfilled}"
            )
        binding = cls(profile, dict(names or {}))
        for attribute, unit in (convert or {}).items():
            found = binding._spec_for(types, attribute)
            if found is None:
                raise ProfileMismatch(
                    f"convert: '{attribute}' is none of the observed properties of "
                    f"'{profile_id}' (map it in observed_properties)"
                )
            try:
                binding.conversions[attribute] = Conversion.between(unit, found.ucum)
            except UnknownConversion as e:
                raise ProfileMismatch(f"convert.{attribute}: {e}") from None
        return binding

    def _spec_for(self, types: Sequence[str], attribute: str) -> ObservedPropertySpec | None:
        spec = self.profile.sensorthings
        assert spec is not None
        key = self.names.get(attribute)
        if key:
            return spec.observed_properties.get(key)
        return next((p for t in types if (p := spec.by_attribute(t, attribute))), None)

    def converted(self, entities: Sequence[EntityData]) -> Sequence[EntityData]:
        """The entities with each reading in the profile's unit and result type: a
        `convert` attribute converted when it comes in the declared unit or without one (a
        reading in a third unit is left as it is, and so is not declared conforming); a
        whole number of an integer-typed property (a count) stored as an integer."""
        spec = self.profile.sensorthings
        assert spec is not None
        counts = any(p.result_type == "integer" for p in spec.observed_properties.values())
        if not self.conversions and not counts:
            return entities
        out = []
        for entity in entities:
            readings = [self._typed(entity.type, self._convert(r)) for r in entity.readings]
            out.append(replace(entity, readings=readings))
        return out

    def _convert(self, reading: Any) -> Any:
        conversion = self.conversions.get(reading.attribute)
        if conversion is None:
            return reading
        unit = ucum(reading.unit_code) if reading.unit_code else conversion.source
        if unit != conversion.source:
            return reading
        return replace(reading, value=conversion(reading.value), unit_code=conversion.target)

    def _typed(self, entity_type: str, reading: Any) -> Any:
        found = self._spec_for((entity_type,), reading.attribute)
        whole = isinstance(reading.value, float) and reading.value.is_integer()
        if found is not None and found.result_type == "integer" and whole:
            return replace(reading, value=int(reading.value))
        return reading

    @property
    def declared(self) -> dict[str, str]:
        return {"profile": self.profile.id, "profileVersion": self.profile.version}

    def observed(
        self, entity_type: str, attribute: str, unit: dict[str, Any]
    ) -> ObservedPropertySpec | None:
        """The observed property a reading stands for, when its unit is the profile's."""
        spec = self.profile.sensorthings
        assert spec is not None
        key = self.names.get(attribute)
        if key:
            found = spec.observed_properties.get(key)
        else:
            found = spec.by_attribute(entity_type, attribute)
        return self._in_unit(found, unit)

    def mapped(self, names: Sequence[str], unit: dict[str, Any]) -> ObservedPropertySpec | None:
        """The observed property the first of `names` found in `observed_properties` is
        mapped to, when the reading's unit is the profile's (sources without Smart Data
        Models names, e.g. a digest's ontology path or parameter)."""
        spec = self.profile.sensorthings
        assert spec is not None
        key = next((self.names[n] for n in names if n in self.names), None)
        return self._in_unit(spec.observed_properties.get(key) if key else None, unit)

    @staticmethod
    def _in_unit(
        found: ObservedPropertySpec | None, unit: dict[str, Any]
    ) -> ObservedPropertySpec | None:
        if found is None or unit.get("definition") != UCUM_BASE + found.ucum:
            return None
        return found

    def thing_properties(self, entity: Any) -> dict[str, str]:
        spec = self.profile.sensorthings
        assert spec is not None
        return {k: THING_VALUES[k](entity) for k in spec.thing_properties}

    def declares(self, properties: dict[str, Any]) -> bool:
        """Whether stored Datastream properties already declare this profile and version."""
        return all(properties.get(k) == v for k, v in self.declared.items())
