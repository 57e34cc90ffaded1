"""How deep a SensorThings request may nest, so that no request can exhaust the recursion of
the parser, the binder, the SQL compiler or the JSON encoder.

The settings `server.sensorthings.max_expand_depth` and `max_expression_depth` choose the
limits the facade applies; they may not exceed the ceilings here, at which every recursive
step of the code stays far below Python's recursion limit (a level costs at most five
frames, and an expanded entity two levels of JSON against orjson's 254).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_EXPAND_DEPTH = 32
MAX_EXPRESSION_DEPTH = 100
MAX_JOINS = 24  # SQLite joins at most 64 tables; a relation may need two (link table)
MAX_ORDERBY_ITEMS = 32  # each more item adds a term per item to the keyset condition


@dataclass(frozen=True)
class Limits:
    """The defaults are the ceilings: internal re-parsing (a federated cursor, an upstream
    nextLink) never rejects what the facade, with its configured limits, accepted."""

    expand_depth: int = MAX_EXPAND_DEPTH
    expression_depth: int = MAX_EXPRESSION_DEPTH
    joins: int = MAX_JOINS

    def expand_message(self) -> str:
        return (
            f"nested more than {self.expand_depth} levels deep"
            " (limit: server.sensorthings.max_expand_depth)"
        )

    def expression_message(self) -> str:
        return (
            f"nested more than {self.expression_depth} levels deep"
            " (limit: server.sensorthings.max_expression_depth)"
        )

    def joins_message(self, joins: int) -> str:
        return (
            f"the expressions walk {joins} relations, more than {self.joins}"
            " (limit: server.sensorthings.max_joins)"
        )


CEILINGS = Limits()
