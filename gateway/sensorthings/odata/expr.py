"""A Pratt parser for OData expressions (`$filter`, `$orderby` items).

Precedence, weakest first: `or`, `and`, `not`, comparisons (`eq ne gt ge lt le`), `in`,
`add sub`, `mul div mod`, unary minus. `not` binds weaker than a comparison, so
`not result lt 1 and not result gt 1` reads as `(not (result lt 1)) and (not (result gt 1))`,
as OGC's and FROST's tests expect.
"""

from __future__ import annotations

from gateway.sensorthings.odata.ast import (
    LOGICAL,
    Binary,
    Call,
    In,
    Lambda,
    Literal,
    Node,
    Path,
    Unary,
    balanced,
    deepest,
)
from gateway.sensorthings.odata.functions import FUNCTIONS
from gateway.sensorthings.odata.lexer import ODataSyntaxError, Token, tokenize
from gateway.sensorthings.odata.limits import CEILINGS, MAX_ORDERBY_ITEMS, Limits

BINDING = {
    "or": 1,
    "and": 2,
    "eq": 4,
    "ne": 4,
    "gt": 4,
    "ge": 4,
    "lt": 4,
    "le": 4,
    "in": 5,
    "add": 6,
    "sub": 6,
    "mul": 7,
    "div": 7,
    "mod": 7,
}
NOT_BINDING = 3
NEGATE_BINDING = 8
LITERAL_KINDS = ("string", "number", "datetime", "date", "time", "interval", "duration", "geometry")
KEYWORDS = {"true": True, "false": False, "null": None}


class Parser:
    """Recursive descent, each level counted: the parser stops at the depth limit before
    Python's recursion limit could, and `checked` bounds the depth of the finished tree
    (which left-associative runs such as `1 add 1 add …` build without recursing)."""

    def __init__(self, text: str, option: str, limits: Limits = CEILINGS) -> None:
        self.option = option
        self.limits = limits
        self.tokens = tokenize(text, option)
        self.i = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def fail(self, message: str, tok: Token | None = None) -> ODataSyntaxError:
        tok = tok or self.peek()
        return ODataSyntaxError(self.option, message, tok.pos)

    def expect(self, text: str) -> Token:
        tok = self.peek()
        if tok.kind != "punct" or tok.value != text:
            found = "the end" if tok.kind == "eof" else repr(tok.text)
            raise self.fail(f"expected '{text}' but found {found}")
        return self.advance()

    def at_punct(self, text: str) -> bool:
        tok = self.peek()
        return tok.kind == "punct" and tok.value == text

    def expression(self, min_binding: int = 0) -> Node:
        self.depth += 1
        if self.depth > self.limits.expression_depth:
            raise self.fail(self.limits.expression_message())
        left = self.prefix()
        while True:
            tok = self.peek()
            binding = BINDING.get(tok.value) if tok.kind == "name" else None
            if binding is None or binding <= min_binding:
                break
            self.advance()
            if tok.value == "in":
                left = In(tok.pos, left, self.item_list())
            elif tok.value in LOGICAL:
                left = self.logical(tok, left, binding)
            else:
                left = Binary(tok.pos, tok.value, left, self.expression(binding))
        self.depth -= 1
        return left

    def logical(self, tok: Token, left: Node, binding: int) -> Node:
        """A whole run `a or b or c …` at once, as a balanced tree (see `ast.balanced`)."""
        items = [left, self.expression(binding)]
        while self.peek().kind == "name" and self.peek().value == tok.value:
            self.advance()
            items.append(self.expression(binding))
        return balanced(tok.pos, tok.value, items)

    def checked(self, node: Node) -> Node:
        too_deep = deepest(node, self.limits.expression_depth)
        if too_deep is not None:
            raise self.fail(self.limits.expression_message(), Token("", None, too_deep.pos, ""))
        return node

    def item_list(self) -> tuple[Node, ...]:
        self.expect("(")
        items = [self.expression()]
        while self.at_punct(","):
            self.advance()
            items.append(self.expression())
        self.expect(")")
        return tuple(items)

    def prefix(self) -> Node:
        tok = self.peek()
        if tok.kind == "punct" and tok.value == "(":
            self.advance()
            inner = self.expression()
            self.expect(")")
            return inner
        if tok.kind == "punct" and tok.value == "-":
            self.advance()
            return Unary(tok.pos, "-", self.expression(NEGATE_BINDING))
        if tok.kind in LITERAL_KINDS:
            self.advance()
            return Literal(tok.pos, tok.value, tok.kind, tok.text)
        if tok.kind == "name":
            return self.name()
        found = "the end of the expression" if tok.kind == "eof" else repr(tok.text)
        raise self.fail(f"expected a value but found {found}")

    def name(self) -> Node:
        tok = self.advance()
        if tok.value == "not":
            return Unary(tok.pos, "not", self.expression(NOT_BINDING))
        if tok.value in KEYWORDS:
            kind = "null" if tok.value == "null" else "bool"
            return Literal(tok.pos, KEYWORDS[tok.value], kind, tok.text)
        if self.at_punct("("):
            return self.call(tok)
        if tok.value in BINDING:
            raise self.fail(f"operator '{tok.value}' needs a value before it", tok)
        return self.path(tok)

    def call(self, tok: Token) -> Node:
        function = FUNCTIONS.get(tok.value)
        if function is None:
            raise self.fail(f"unknown function '{tok.value}'", tok)
        self.expect("(")
        args: list[Node] = []
        if not self.at_punct(")"):
            args.append(self.expression())
            while self.at_punct(","):
                self.advance()
                args.append(self.expression())
        self.expect(")")
        if not function.min_args <= len(args) <= function.max_args:
            wanted = (
                str(function.min_args)
                if function.min_args == function.max_args
                else f"{function.min_args} to {function.max_args}"
            )
            raise self.fail(f"{tok.value}() takes {wanted} argument(s), not {len(args)}", tok)
        return Call(tok.pos, tok.value, tuple(args))

    def path(self, first: Token) -> Node:
        segments = [first.value]
        while self.at_punct("/"):
            self.advance()
            tok = self.advance()
            if tok.kind not in ("name", "number"):
                raise self.fail("expected a name after '/'", tok)
            if tok.value in ("any", "all") and self.at_punct("("):
                return self.lambda_(Path(first.pos, tuple(segments)), tok)
            segments.append(str(tok.value))
        return Path(first.pos, tuple(segments))

    def lambda_(self, path: Path, tok: Token) -> Node:
        self.expect("(")
        if self.at_punct(")"):
            self.advance()
            return Lambda(tok.pos, path, tok.value, None, None)
        var = self.advance()
        if var.kind != "name":
            raise self.fail("expected a lambda variable", var)
        self.expect(":")
        body = self.expression()
        self.expect(")")
        return Lambda(tok.pos, path, tok.value, var.value, body)

    def end(self) -> None:
        tok = self.peek()
        if tok.kind != "eof":
            raise self.fail(f"unexpected {tok.text!r}")


def parse_filter(text: str, option: str = "$filter", limits: Limits = CEILINGS) -> Node:
    if not text.strip():
        raise ODataSyntaxError(option, "empty expression", 1)
    parser = Parser(text, option, limits)
    node = parser.checked(parser.expression())
    parser.end()
    return node


def parse_orderby(
    text: str, option: str = "$orderby", limits: Limits = CEILINGS
) -> list[tuple[Node, bool]]:
    """`expr [asc|desc], …` as (expression, descending) pairs."""
    parser = Parser(text, option, limits)
    items: list[tuple[Node, bool]] = []
    while True:
        if len(items) == MAX_ORDERBY_ITEMS:
            raise parser.fail(f"more than {MAX_ORDERBY_ITEMS} sort keys")
        node = parser.checked(parser.expression())
        tok = parser.peek()
        descending = False
        if tok.kind == "name" and tok.value.lower() in ("asc", "desc"):
            descending = parser.advance().value.lower() == "desc"
        items.append((node, descending))
        if parser.peek().kind == "eof":
            return items
        parser.expect(",")
