"""Data quality of a profile-shaped collection, computed while its features stream past.

    figures = QualityAccumulator(profiles.get("street-trees"))
    async for batch in pages:
        figures.add_many(batch)
    report = figures.report()      # a plain dict, JSON-serialisable

The same computation serves `twinbridge quality URL` (client side, over HTTP) and the
gateway's `/catalog` (server side, in a background task), so both show the same figures.
"""

from gateway.quality.accumulator import QualityAccumulator
from gateway.quality.ids import BoundedIds
from gateway.quality.rules import PropertyRule, property_rules, temporal_property

__all__ = [
    "BoundedIds",
    "PropertyRule",
    "QualityAccumulator",
    "property_rules",
    "temporal_property",
]
