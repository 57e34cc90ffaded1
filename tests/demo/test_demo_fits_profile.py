"""The demo data and demo.yaml fit the street-trees profile.

The rules are applied here in the plainest way (not through gateway.mapping), so this checks
the data and the YAML, whatever the mapping engine does.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyproj import Transformer

import profiles
from gateway.config import CollectionConfig, parse_config
from gateway.demo import DEMO_CONFIG
from gateway.mapping import MappingRule
from tests.demo.sources import READERS

CRS = {"hamburg": "EPSG:25832", "leipzig": "EPSG:25833", "muenchen": "EPSG:25832"}


@pytest.fixture(scope="module")
def collections(demo: Path) -> dict[str, CollectionConfig]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINBRIDGE_DEMO_DIR", str(demo))
        mp.setenv("TWINBRIDGE_DEMO_SERVICES", "http://127.0.0.1:9")  # parsed, never reached
        data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
        loaded = parse_config(data, str(DEMO_CONFIG), DEMO_CONFIG.parent)
    tenants = loaded.config.tenants
    return {tid: next(iter(tenants[tid].collections.values())) for tid in CRS}


def apply(rule: MappingRule, record: dict[str, Any]) -> Any:
    value = _apply(rule, record)
    return rule.default if value is None else value


def _number(value: Any) -> float | None:
    return None if value in (None, "") else float(str(value).replace(",", "."))


_OPERATIONS = {"sum": sum, "min": min, "max": max, "difference": lambda v: v[0] - v[1]}


def _operation(rule: MappingRule, record: dict[str, Any]) -> float | None:
    assert rule.operation is not None
    key, operands = rule.operation
    numbers = [_number(record[o]) if isinstance(o, str) else o for o in operands]
    present = [n for n in numbers if n is not None]
    if not present or (key == "difference" and len(present) < 2):
        return None
    return round(_OPERATIONS[key](present), 6)


def _apply(rule: MappingRule, record: dict[str, Any]) -> Any:
    if rule.constant is not None:
        return rule.constant
    if rule.operation is not None:
        return _operation(rule, record)
    if rule.template is not None:
        names = re.findall(r"{([^{}]+)}", rule.template)
        if all(record.get(n) in (None, "") for n in names):
            return None
        text = rule.template.format_map({n: record.get(n) or "" for n in names})
        return " ".join(text.split())
    value = record[rule.from_]  # a KeyError here is a mapping naming a missing field
    if value in (None, ""):
        return None
    if rule.codes is not None:
        codes = {str(k): v for k, v in rule.codes.items()}
        if rule.default is not None and str(value) not in codes:
            return rule.default
        value = codes[str(value)]  # without a default, every code is listed
    if rule.type == "integer":
        value = int(str(value))
    elif rule.type == "number":
        value = float(str(value).replace(",", "."))
    elif rule.type == "date":
        text = str(value)
        parsed = (
            datetime.strptime(text, rule.format) if rule.format else datetime.fromisoformat(text)
        )
        value = parsed.date().isoformat()
    if rule.factor is not None or rule.offset is not None:
        value = value * (rule.factor or 1.0) + (rule.offset or 0.0)
    return value


def to_feature(collection: CollectionConfig, record: dict[str, Any], crs: str) -> dict:
    assert collection.mapping is not None and collection.mapping.id is not None
    x, y = Transformer.from_crs(crs, "OGC:CRS84", always_xy=True).transform(*record["_xy"])
    return {
        "type": "Feature",
        "id": record[collection.mapping.id],
        "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": {k: apply(r, record) for k, r in collection.mapping.rules().items()},
    }


@pytest.mark.parametrize("city", sorted(READERS))
def test_first_records_validate_after_mapping(demo: Path, collections, city: str) -> None:
    trees = profiles.get("street-trees")
    records = READERS[city](demo)
    for record in records[:50]:
        feature = to_feature(collections[city], record, CRS[city])
        assert trees.validate(feature) == [], feature
    assert len({r[collections[city].mapping.id] for r in records}) == len(records), "unique ids"


@pytest.mark.parametrize("city", sorted(READERS))
def test_code_lists_cover_every_source_value(demo: Path, collections, city: str) -> None:
    rules = collections[city].mapping.rules()
    for record in READERS[city](demo):
        for rule in rules.values():
            apply(rule, record)  # raises KeyError for a code not in the list


def test_munich_codes_give_profile_values(demo: Path, collections) -> None:
    rules = collections["muenchen"].mapping.rules()
    genus_enum = profiles.get("street-trees").properties()["genus"]["enum"]
    assert sorted(rules["genus"].codes.values()) == genus_enum
    assert len(rules["district"].codes) == 25
    record = READERS["muenchen"](demo)[0]
    assert apply(rules["street"], record) == f"{record['strasse']} {record['hausnummer']}"
    assert apply(rules["height_m"], record) == pytest.approx(record["hoehe_cm"] / 100)
    assert apply(rules["crown_diameter_m"], record) == pytest.approx(record["kronenradius_m"] * 2)


def test_leipzig_diameter_becomes_circumference(demo: Path, collections) -> None:
    rule = collections["leipzig"].mapping.rules()["trunk_circumference_cm"]
    assert rule.factor == pytest.approx(3.14159265)
    assert apply(rule, {"Stammdurchmesser_cm": "31,8"}) == pytest.approx(99.90, abs=0.01)
