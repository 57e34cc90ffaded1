"""Unit conversion for the profile filling: a source that reports a water level in m where
the profile says cm, an occupancy as a ratio 0..1 where it says %, is converted to the
profile's UCUM unit before its values are stored.

A sync entry declares, per attribute (NGSI) or observed property (rest), the UCUM code the
source reports in (`convert: {height: m}`); `Conversion.between(from, to)` finds the factor
and offset in a small table of UCUM codes grouped by dimension. A pair the table does not
know (other dimensions, a code not in it) raises UnknownConversion, which the configuration
turns into a start-up error: a value is never stored in a unit it does not have.

No maintained UCUM library is on PyPI for Python (ucum-lhc is JavaScript, Fhir.Metrics .NET),
and the profiles need a few dozen codes: a table keeps it exact and reviewable.
"""

from __future__ import annotations

from dataclasses import dataclass

# UCUM code -> (dimension, factor to the dimension's base unit, offset added after it).
# value_in_base = value * factor + offset
TABLE: dict[str, tuple[str, float, float]] = {
    # length (water level, depth)
    "m": ("length", 1.0, 0.0),
    "dm": ("length", 0.1, 0.0),
    "cm": ("length", 0.01, 0.0),
    "mm": ("length", 0.001, 0.0),
    "km": ("length", 1000.0, 0.0),
    "[ft_i]": ("length", 0.3048, 0.0),
    "[in_i]": ("length", 0.0254, 0.0),
    # dimensionless ratios (occupancy, relative humidity)
    "1": ("ratio", 1.0, 0.0),
    "%": ("ratio", 0.01, 0.0),
    "[ppth]": ("ratio", 0.001, 0.0),
    # volume flow (discharge)
    "m3/s": ("flow", 1.0, 0.0),
    "L/s": ("flow", 0.001, 0.0),
    "m3/h": ("flow", 1 / 3600, 0.0),
    "[cft_i]/s": ("flow", 0.028316846592, 0.0),
    # temperature (Kelvin base)
    "K": ("temperature", 1.0, 0.0),
    "Cel": ("temperature", 1.0, 273.15),
    "[degF]": ("temperature", 5 / 9, 273.15 - 32 * 5 / 9),
    # mass concentration in air
    "ug/m3": ("air-concentration", 1.0, 0.0),
    "mg/m3": ("air-concentration", 1000.0, 0.0),
    "ng/m3": ("air-concentration", 0.001, 0.0),
    # mass concentration in water
    "mg/L": ("water-concentration", 1.0, 0.0),
    "ug/L": ("water-concentration", 0.001, 0.0),
    "g/L": ("water-concentration", 1000.0, 0.0),
    # electrical conductivity
    "uS/cm": ("conductivity", 1.0, 0.0),
    "mS/cm": ("conductivity", 1000.0, 0.0),
    "S/m": ("conductivity", 10000.0, 0.0),
    "mS/m": ("conductivity", 10.0, 0.0),
    # pressure
    "Pa": ("pressure", 1.0, 0.0),
    "hPa": ("pressure", 100.0, 0.0),
    "kPa": ("pressure", 1000.0, 0.0),
    "mbar": ("pressure", 100.0, 0.0),
    "bar": ("pressure", 100000.0, 0.0),
    # time
    "s": ("time", 1.0, 0.0),
    "min": ("time", 60.0, 0.0),
    "h": ("time", 3600.0, 0.0),
    # speed
    "m/s": ("speed", 1.0, 0.0),
    "km/h": ("speed", 1 / 3.6, 0.0),
    # power and energy
    "W": ("power", 1.0, 0.0),
    "kW": ("power", 1000.0, 0.0),
    "MW": ("power", 1e6, 0.0),
    "W.h": ("energy", 1.0, 0.0),
    "kW.h": ("energy", 1000.0, 0.0),
    "MW.h": ("energy", 1e6, 0.0),
}


class UnknownConversion(ValueError):
    """No conversion between two units is known (the message names both)."""


@dataclass(frozen=True)
class Conversion:
    """value_in_target = value * factor + offset."""

    source: str
    target: str
    factor: float = 1.0
    offset: float = 0.0

    @classmethod
    def between(cls, source: str, target: str) -> Conversion:
        """The conversion from UCUM code `source` to `target`, or UnknownConversion.
        The same code is always known (no change), as are codes UCUM treats alike."""
        if source == target:
            return cls(source, target)
        a, b = TABLE.get(source), TABLE.get(target)
        if a is None or b is None:
            unknown = [code for code, row in ((source, a), (target, b)) if row is None]
            raise UnknownConversion(
                f"no conversion from '{source}' to '{target}': "
                f"{', '.join(repr(u) for u in unknown)} not in the unit table "
                f"(known: {', '.join(sorted(TABLE))})"
            )
        if a[0] != b[0]:
            raise UnknownConversion(
                f"no conversion from '{source}' ({a[0]}) to '{target}' ({b[0]}): "
                "different dimensions"
            )
        # source -> base: v*fa + oa; base -> target: (x - ob) / fb
        return cls(source, target, a[1] / b[1], (a[2] - b[2]) / b[1])

    @property
    def identity(self) -> bool:
        return self.factor == 1.0 and self.offset == 0.0

    def __call__(self, value: float) -> float:
        """The converted value, rounded to 12 significant digits (so 1.23 m is 123 cm,
        not 122.99999999999999)."""
        if self.identity:
            return value
        return float(f"{value * self.factor + self.offset:.12g}")
