"""One dataset's figures: read its items page by page, in the background, into the
data-quality computation; count and last update come from the same pass."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from gateway.catalog import CollectionSource
from gateway.datacatalog.config import CatalogSettings
from gateway.quality import QualityAccumulator
from gateway.query.model import Query


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def _read(
    source: CollectionSource, figures: QualityAccumulator, cfg: CatalogSettings
) -> bool:
    """Feed the source's items to `figures`; True when every item was read."""
    offset, resume, read = 0, None, 0
    while True:
        limit = cfg.page_size if not cfg.max_items else min(cfg.page_size, cfg.max_items - read)
        page = await source.stream(Query(limit=limit, offset=offset, resume=resume))
        try:
            async for batch in page.batches():
                # Validation is CPU work: in a thread, so requests keep being answered.
                await asyncio.to_thread(figures.add_many, batch)
                read += len(batch)
        finally:
            await page.aclose()
        if not page.has_next:
            return True
        if cfg.max_items and read >= cfg.max_items:
            return False
        offset, resume = offset + limit, page.resume


async def features_figures(source: CollectionSource, cfg: CatalogSettings) -> dict[str, Any]:
    """Count, last update and data quality of one tenant collection."""
    assert source.profile is not None
    started = time.perf_counter()
    figures = QualityAccumulator(
        source.profile, max_ids=cfg.max_ids, time_property=source.temporal_property
    )
    complete = await _read(source, figures, cfg)
    count: int | None = figures.items
    if not complete:
        count = await source.cheap_count(Query(limit=1))
    quality = figures.report()
    return {
        "status": "ok",
        "computedAt": now_iso(),
        "seconds": round(time.perf_counter() - started, 3),
        "count": count,
        "sampled": not complete,
        "lastUpdate": quality["freshness"]["newest"],
        "quality": quality,
    }
