"""The OData subset the fake SensorThings server understands: a $filter parser and
evaluator (comparison, and/or/not, parentheses, startswith, endswith, substringof,
tolower, toupper, length) over plain entity dicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<time>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_@][A-Za-z0-9_./@]*)|(?P<sym>[(),]))"
)
COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "startswith": lambda a, b: a.startswith(b),
    "endswith": lambda a, b: a.endswith(b),
    "substringof": lambda a, b: a in b,
    "tolower": lambda a: a.lower(),
    "toupper": lambda a: a.upper(),
    "length": lambda a: len(a),
}


class FilterError(ValueError):
    pass


def tokens(text: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip():
                raise FilterError(f"cannot read {text[pos:]!r}")
            break
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)  # type: ignore[arg-type]
        if kind == "str":
            out.append(("lit", value[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(("lit", float(value) if "." in value else int(value)))
        elif kind == "time":
            out.append(("lit", value))
        elif kind == "name" and value in ("true", "false", "null"):
            out.append(("lit", {"true": True, "false": False, "null": None}[value]))
        else:
            out.append((kind, value))  # type: ignore[arg-type]
    return out


class Parser:
    def __init__(self, text: str) -> None:
        self.items = tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def take(self, value: Any = None) -> tuple[str, Any]:
        item = self.peek()
        if item is None or (value is not None and item[1] != value):
            raise FilterError(f"expected {value!r} at token {self.i}")
        self.i += 1
        return item

    def parse(self) -> Callable[[dict], Any]:
        node = self.logical("or")
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()!r}")
        return node

    def logical(self, word: str) -> Callable[[dict], Any]:
        lower = (lambda: self.logical("and")) if word == "or" else self.negation
        left = lower()
        while self.peek() == ("name", word):
            self.take()
            right, first = lower(), left
            left = (
                (lambda e, a=first, b=right: bool(a(e)) or bool(b(e)))
                if word == "or"
                else (lambda e, a=first, b=right: bool(a(e)) and bool(b(e)))
            )
        return left

    def negation(self) -> Callable[[dict], Any]:
        if self.peek() == ("name", "not"):
            self.take()
            inner = self.negation()
            return lambda e: not bool(inner(e))
        return self.comparison()

    def comparison(self) -> Callable[[dict], Any]:
        left = self.operand()
        item = self.peek()
        if item and item[0] == "name" and item[1] in COMPARE:
            self.take()
            right, test = self.operand(), COMPARE[item[1]]

            def compare(e: dict) -> bool:
                a, b = left(e), right(e)
                if a is None or b is None:
                    return test(a, b) if item[1] in ("eq", "ne") else False
                try:
                    return test(a, b)
                except TypeError:
                    return False

            return compare
        return left

    def operand(self) -> Callable[[dict], Any]:
        kind, value = self.take()
        if kind == "lit":
            return lambda e: value
        if (kind, value) == ("sym", "("):
            inner = self.logical("or")
            self.take(")")
            return inner
        if kind == "name" and value in FUNCTIONS and self.peek() == ("sym", "("):
            self.take("(")
            args = [self.logical("or")]
            while self.peek() == ("sym", ","):
                self.take()
                args.append(self.logical("or"))
            self.take(")")
            fn = FUNCTIONS[value]

            def call(e: dict) -> Any:
                values = [a(e) for a in args]
                return None if None in values else fn(*values)

            return call
        if kind == "name":
            path = value.split("/")
            return lambda e: _path(e, path)
        raise FilterError(f"unexpected {value!r}")


def _path(entity: dict, path: list[str]) -> Any:
    value: Any = entity
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def compile_filter(text: str) -> Callable[[dict], bool]:
    node = Parser(text).parse()
    return lambda e: bool(node(e))
