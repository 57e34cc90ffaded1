"""Mapping: the rule model (rules.py), lenient casts (casts.py) and the compiled mapper
(compile.py) that turns source records into profile-shaped features."""

from gateway.mapping.compile import Feature, Getter, Mapper, Record, compile_rule
from gateway.mapping.rules import Mapping, MappingRule

__all__ = ["Feature", "Getter", "Mapper", "Mapping", "MappingRule", "Record", "compile_rule"]
