"""The one OData parser of the SensorThings facade.

`parse_options(params)` turns the query parameters into a `QueryOptions` tree (with
`$filter` and `$orderby` parsed by `expr.parse_filter`), `bind.check` validates that tree
against the entity model, and `render` writes it back as text for an upstream server.
Nothing here evaluates anything: the store compiles the tree to SQL with bound parameters.
"""

from gateway.sensorthings.odata.ast import Node
from gateway.sensorthings.odata.options import Expand, OrderItem, QueryOptions, parse_options

__all__ = ["Expand", "Node", "OrderItem", "QueryOptions", "parse_options"]
