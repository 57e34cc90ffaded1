"""The conformance classes this facade implements; /conformance is built from these."""

from __future__ import annotations

PART1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf"

CORE = f"{PART1}/core"
GEOJSON = f"{PART1}/geojson"
HTML = f"{PART1}/html"
OAS30 = f"{PART1}/oas30"

CLASSES: tuple[str, ...] = (CORE, GEOJSON, HTML, OAS30)


def conforms_to() -> list[str]:
    return list(CLASSES)
