"""The NGSI-LD query language (`q`, ETSI GS CIM 009 4.9) of the test broker: parsed once into a
tree, then tested against stored entities.

Grammar, as the specification gives it (AND binds tighter than OR):
    query  = term *( (";" / "|") term )     ";" AND, "|" OR
    term   = "(" query ")" / ["!"] attr / attr op value
    op     = "==" / "!=" / "<" / "<=" / ">" / ">=" / "~=" / "!~="
    attr   = name *("." name) ["[" name *("." name) "]"]
    value  = number / '"string"' / true / false / dateTime / date / time / URI
             / value 1*("," value) (a list: any of, with == and !=) / value ".." value (a range)
`a.b` names sub-property `b` of attribute `a` (`a.observedAt`, `a.unitCode` too); `a[b.c]`
reaches into a's structured value. Strings must be double-quoted (`\\"` escapes); an
unquoted ISO 8601 value compares as a date-time, an unquoted other word is a URI (equality
only). A value of another type than the operand never matches; a list value matches when
any item does; `!=` needs the attribute to exist (4.9: "NOT(equal)" of an existing value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "~=", "!~=")
_NAME = re.compile(r"[A-Za-z_@][A-Za-z0-9_:/#@\-]*")
_OP = re.compile(r"!~=|~=|==|!=|<=|>=|<|>")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_STOP = frozenset(";|)")
META = frozenset({"observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "type"})


class QueryError(ValueError):
    """A `q` that does not follow the grammar (answered 400 BadRequestData)."""


@dataclass(frozen=True)
class Attr:
    name: str  # the attribute's short name, as the query gives it
    sub: tuple[str, ...] = ()  # sub-properties (a.b)
    inner: tuple[str, ...] = ()  # keys into the value (a[b.c])


@dataclass(frozen=True)
class Range:
    low: Any
    high: Any


@dataclass(frozen=True)
class Term:
    attr: Attr
    op: str | None = None  # None: exists; "!": does not exist
    value: Any = None  # scalar, tuple (list) or Range; a str pattern for ~=


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    parts: tuple[Node, ...]


Node = Term | Logic


def parse(text: str) -> Node:
    parser = _Parser(text)
    node = parser.query()
    if parser.pos != len(text):
        parser.fail("unexpected text")
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> None:
        raise QueryError(f"q: {what} at position {self.pos + 1}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def query(self) -> Node:
        ors = [self.conjunction()]
        while self.peek() == "|":
            self.pos += 1
            ors.append(self.conjunction())
        return ors[0] if len(ors) == 1 else Logic("or", tuple(ors))

    def conjunction(self) -> Node:
        ands = [self.term()]
        while self.peek() == ";":
            self.pos += 1
            ands.append(self.term())
        return ands[0] if len(ands) == 1 else Logic("and", tuple(ands))

    def term(self) -> Node:
        if self.peek() == "(":
            self.pos += 1
            node = self.query()
            if self.peek() != ")":
                self.fail("')' expected")
            self.pos += 1
            return node
        if self.peek() == "!" and not self.text.startswith("!~=", self.pos):
            self.pos += 1
            return Term(self.attr(), "!")
        attr = self.attr()
        match = _OP.match(self.text, self.pos)
        if match is None:
            if self.peek() not in ("", *_STOP):
                self.fail("an operator expected")
            return Term(attr, None)
        op = match.group()
        self.pos = match.end()
        if op in ("~=", "!~="):
            return Term(attr, op, self.pattern())
        return Term(attr, op, self.values(op))

    def attr(self) -> Attr:
        names = [self.name()]
        while self.peek() == ".":
            self.pos += 1
            names.append(self.name())
        inner: list[str] = []
        if self.peek() == "[":
            self.pos += 1
            inner.append(self.name())
            while self.peek() == ".":
                self.pos += 1
                inner.append(self.name())
            if self.peek() != "]":
                self.fail("']' expected")
            self.pos += 1
        return Attr(names[0], tuple(names[1:]), tuple(inner))

    def name(self) -> str:
        match = _NAME.match(self.text, self.pos)
        if match is None:
            self.fail("an attribute name expected")
            raise AssertionError  # unreachable: fail raises
        self.pos = match.end()
        return match.group().rstrip(":")

    def pattern(self) -> str:
        raw = self.string(regex=True) if self.peek() == '"' else self.word()
        try:
            re.compile(raw)
        except re.error as e:
            raise QueryError(f"q: an invalid pattern: {e}") from None
        return raw

    def values(self, op: str) -> Any:
        first = self.value()
        if self.text.startswith("..", self.pos):
            self.pos += 2
            found: Any = Range(first, self.value())
        elif self.peek() == ",":
            items = [first]
            while self.peek() == ",":
                self.pos += 1
                items.append(self.value())
            found = tuple(items)
        else:
            return first
        if op not in ("==", "!="):
            self.fail(f"a list or range needs == or !=, not {op}")
        return found

    def value(self) -> Any:
        if self.peek() == '"':
            return self.string()
        word = self.word()
        if not word:
            self.fail("a value expected")
        return literal(word)

    def string(self, *, regex: bool = False) -> str:
        """A double-quoted string; `\\"` is a quote. In a regex other escapes stay."""
        out, pos = [], self.pos + 1
        while pos < len(self.text):
            char = self.text[pos]
            if char == "\\" and pos + 1 < len(self.text):
                nxt = self.text[pos + 1]
                out.append(nxt if nxt == '"' or not regex else char + nxt)
                pos += 2
            elif char == '"':
                self.pos = pos + 1
                return "".join(out)
            else:
                out.append(char)
                pos += 1
        self.fail("an unterminated string")
        raise AssertionError

    def word(self) -> str:
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in _STOP or char == "," or self.text.startswith("..", self.pos):
                break
            self.pos += 1
        return self.text[start : self.pos]


def literal(word: str) -> Any:
    """An unquoted value: a number, true/false, a date-time, date or time, else a URI."""
    if word in ("true", "false"):
        return word == "true"
    if _NUMBER.match(word):
        return float(word) if any(c in word for c in ".eE") else int(word)
    moment = as_moment(word)
    if moment is not None:
        return moment
    if ":" not in word:
        raise QueryError(f"q: '{word[:40]}' is neither a number, a date nor a URI (quote strings)")
    return Uri(word)


class Uri(str):
    """An unquoted URI value: equal only to the same text."""


def as_moment(text: str) -> datetime | date | time | None:
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if len(text) == 10 and text[4] == "-":
            return date.fromisoformat(text)
        if len(text) >= 5 and text[2] == ":":
            return time.fromisoformat(text.replace("Z", ""))
    except ValueError:
        return None
    return None


# --- evaluation ---------------------------------------------------------------------------


def matches(node: Node, entity: dict[str, Any], expand: Callable[[str], str]) -> bool:
    """Whether a stored entity (attribute names expanded) satisfies the query; `expand`
    turns the query's short names into stored ones (the request's @context)."""
    if isinstance(node, Logic):
        test = all if node.op == "and" else any
        return test(matches(part, entity, expand) for part in node.parts)
    found = resolve(entity, node.attr, expand)
    if node.op is None:
        return bool(found)
    if node.op == "!":
        return not found
    return any(_compare(node.op, candidate, node.value) for candidate in found)


def resolve(entity: dict[str, Any], attr: Attr, expand: Callable[[str], str]) -> list[Any]:
    """The values `attr` names in an entity (one per instance; list values spread out)."""
    instances = entity.get(expand(attr.name))
    if instances is None:
        return []
    out: list[Any] = []
    for node in instances if isinstance(instances, list) else [instances]:
        for name in attr.sub:
            if not isinstance(node, dict):
                node = None
                break
            node = node.get(name) if name in META else node.get(expand(name))
        if isinstance(node, dict):
            node = node.get("object", node.get("value"))
        for key in attr.inner:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            continue
        out.extend(node if isinstance(node, list) else [node])
    return out


def _compare(op: str, actual: Any, wanted: Any) -> bool:
    if op in ("~=", "!~="):
        if not isinstance(actual, str):
            return False
        return (re.search(wanted, actual) is not None) == (op == "~=")
    if op in ("==", "!="):
        if isinstance(wanted, Range):
            hit = _order(actual, wanted.low, ">=") and _order(actual, wanted.high, "<=")
        elif isinstance(wanted, tuple):
            hit = any(_equal(actual, w) for w in wanted)
        else:
            hit = _equal(actual, wanted)
        return hit == (op == "==")
    return _order(actual, wanted, op)


def _coerce(actual: Any, wanted: Any) -> Any:
    """The stored value in the query value's type (dates are stored as text), or None."""
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual if isinstance(actual, bool) and isinstance(wanted, bool) else None
    if isinstance(wanted, int | float):
        return actual if isinstance(actual, int | float) else None
    if isinstance(wanted, datetime | date | time):
        moment = as_moment(actual) if isinstance(actual, str) else None
        if type(moment) is not type(wanted):
            return None
        return moment
    if isinstance(wanted, str):
        return actual if isinstance(actual, str) else None
    return None


def _equal(actual: Any, wanted: Any) -> bool:
    value = _coerce(actual, wanted)
    return value is not None and value == wanted


def _order(actual: Any, wanted: Any, op: str) -> bool:
    if isinstance(wanted, Uri | bool):
        return False
    value = _coerce(actual, wanted)
    if value is None:
        return False
    if op == "<":
        return value < wanted
    if op == "<=":
        return value <= wanted
    if op == ">":
        return value > wanted
    return value >= wanted


__all__ = ["Attr", "Logic", "QueryError", "Range", "Term", "matches", "parse", "resolve"]
