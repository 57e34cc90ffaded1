"""Units of NGSI values as STA writes them.

Smart Data Models give units as UN/CEFACT Common Codes (`unitCode` "GQ" = µg/m³, Rec. 20);
SensorThings Datastreams name theirs, and we use UCUM codes for the definition, as the
Array-of-Things import does. An unknown code is kept as given rather than guessed.
"""

from __future__ import annotations

from typing import Any

UCUM_BASE = "http://unitsofmeasure.org/ucum.html#"

# UN/CEFACT code -> (UCUM code, name, symbol)
UNECE: dict[str, tuple[str, str, str]] = {
    "GQ": ("ug/m3", "microgram per cubic metre", "µg/m³"),
    "GP": ("mg/m3", "milligram per cubic metre", "mg/m³"),
    "59": ("[ppm]", "part per million", "ppm"),
    "61": ("[ppb]", "part per billion", "ppb"),
    "CEL": ("Cel", "degree Celsius", "°C"),
    "KEL": ("K", "kelvin", "K"),
    "FAH": ("[degF]", "degree Fahrenheit", "°F"),
    "P1": ("%", "percent", "%"),
    "C62": ("1", "one", "1"),
    "A97": ("hPa", "hectopascal", "hPa"),
    "PAL": ("Pa", "pascal", "Pa"),
    "KPA": ("kPa", "kilopascal", "kPa"),
    "MBR": ("mbar", "millibar", "mbar"),
    "MTR": ("m", "metre", "m"),
    "CMT": ("cm", "centimetre", "cm"),
    "MMT": ("mm", "millimetre", "mm"),
    "KMT": ("km", "kilometre", "km"),
    "4H": ("um", "micrometre", "µm"),
    "MTS": ("m/s", "metre per second", "m/s"),
    "KMH": ("km/h", "kilometre per hour", "km/h"),
    "DD": ("deg", "degree (angle)", "°"),
    "2N": ("dB", "decibel", "dB"),
    "LUX": ("lx", "lux", "lx"),
    "D54": ("W/m2", "watt per square metre", "W/m²"),
    "WTT": ("W", "watt", "W"),
    "KWT": ("kW", "kilowatt", "kW"),
    "KWH": ("kW.h", "kilowatt hour", "kWh"),
    "AMP": ("A", "ampere", "A"),
    "VLT": ("V", "volt", "V"),
    "LTR": ("L", "litre", "l"),
    "MQH": ("m3/h", "cubic metre per hour", "m³/h"),
    "MQS": ("m3/s", "cubic metre per second", "m³/s"),
    "M1": ("mg/L", "milligram per litre", "mg/l"),
    "H29": ("ug/L", "microgram per litre", "µg/l"),
    "GL": ("g/L", "gram per litre", "g/l"),
    "H61": ("mS/cm", "millisiemens per centimetre", "mS/cm"),
    "G42": ("uS/cm", "microsiemens per centimetre", "µS/cm"),
    "D10": ("S/m", "siemens per metre", "S/m"),
    "Q30": ("[pH]", "pH", "pH"),
    "SEC": ("s", "second", "s"),
    "MIN": ("min", "minute", "min"),
    "HUR": ("h", "hour", "h"),
    "GRM": ("g", "gram", "g"),
    "KGM": ("kg", "kilogram", "kg"),
    "H87": ("{piece}", "piece", "pcs"),
}
_BY_UCUM = {ucum: (ucum, name, symbol) for ucum, name, symbol in UNECE.values()}
UNSPECIFIED: dict[str, Any] = {"name": "unspecified", "symbol": "", "definition": ""}


def ucum(unit_code: str) -> str:
    """The UCUM code of a UN/CEFACT code (the code itself when unknown)."""
    found = UNECE.get(unit_code.strip())
    return found[0] if found else unit_code.strip()


def unit_of_measurement(unit_code: str | None, ucum_default: str | None) -> dict[str, Any]:
    """A Datastream's unitOfMeasurement from the entity's UN/CEFACT `unitCode`, else from a
    configured UCUM code, else marked unspecified."""
    if unit_code:
        entry = UNECE.get(unit_code.strip())
        if entry is None:  # not a UN/CEFACT code we know: perhaps already UCUM
            entry = _BY_UCUM.get(unit_code.strip(), (unit_code, unit_code, unit_code))
    elif ucum_default:
        entry = _BY_UCUM.get(ucum_default, (ucum_default, ucum_default, ucum_default))
    else:
        return dict(UNSPECIFIED)
    code, name, symbol = entry
    return {"name": name, "symbol": symbol, "definition": UCUM_BASE + code}
