"""Mapping: the rule model (rules.py), lenient casts (casts.py), the compiled mapper
(compile.py) that turns source records into profile-shaped features, the rules that read
several fields (combine.py) and whether a rule can be run backwards (invert.py)."""

from gateway.mapping.compile import Feature, Getter, Mapper, Record, compile_rule
from gateway.mapping.invert import invertible, why_not_invertible
from gateway.mapping.rules import Mapping, MappingRule

__all__ = [
    "Feature",
    "Getter",
    "Mapper",
    "Mapping",
    "MappingRule",
    "Record",
    "compile_rule",
    "invertible",
    "why_not_invertible",
]
