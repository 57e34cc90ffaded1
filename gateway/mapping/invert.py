"""Whether a rule can be run backwards: a profile value written back as a source value.

Writes through the gateway (issue 15) need, for every property a client sends, the one
source value that maps to it. A rule that joins, gathers, computes or defaults cannot give
that: the write path should refuse such a property with `why_not_invertible`'s reason
rather than guess.
"""

from __future__ import annotations

from gateway.mapping.rules import MappingRule


def why_not_invertible(rule: MappingRule) -> str | None:
    """The reason a mapped value does not determine its source value; None: it does."""
    if rule.constant is not None:
        return "a 'constant' is not stored in the source"
    if rule.template is not None:
        return "a 'template' joins several fields into one text"
    if rule.collect is not None:
        return "'collect' gathers several columns into one list"
    if rule.operation is not None:
        return f"'{rule.operation[0]}' computes the value from several operands"
    if rule.default is not None:
        return "'default' maps an empty source value and a missing code to one value"
    if rule.split is not None:
        return "'split' drops blanks and repeats from the source text"
    if rule.factor == 0:
        return "a 'factor' of 0 maps every source value to the same number"
    if rule.codes is not None:
        values = [repr(v) for v in rule.codes.values()]
        if len(set(values)) != len(values) or "None" in values:
            return "the code list maps several codes (or a code and null) to one value"
    return None


def invertible(rule: MappingRule) -> bool:
    """Whether each mapped value names exactly one source value (see why_not_invertible)."""
    return why_not_invertible(rule) is None
