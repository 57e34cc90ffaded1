"""Search envelopes for a CRS84 box in a source's CRS: they must cover the box (or nothing
is found that should be), and in a geographic CRS they must not be wider than it (a WFS
answers every feature inside the envelope, to be dropped by the exact test afterwards)."""

from __future__ import annotations

import pytest
import shapely

from connectors.crs import bbox_from_crs84, transformer

BOXES = [
    (9.95, 53.53, 10.05, 53.58),  # Hamburg
    (12.3, 51.3, 12.45, 51.37),  # Leipzig
    (-1.0, -0.5, 1.0, 0.5),  # Null Island
    (5.0, 47.0, 15.0, 55.0),  # Germany
]


def back_in_crs84(envelope: tuple[float, float, float, float], crs: str) -> shapely.Polygon:
    minx, miny, maxx, maxy = envelope
    ring = [(minx, miny), (maxx, miny), (maxx, maxy), (minx, maxy)]
    xs, ys = transformer(crs, "OGC:CRS84").transform(*zip(*ring, strict=True))
    return shapely.Polygon(zip(xs, ys, strict=True))


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4258", "OGC:CRS84"])
def test_a_geographic_envelope_covers_the_box_and_is_no_wider(box, crs) -> None:
    envelope = bbox_from_crs84(box, crs)
    assert envelope is not None
    back = back_in_crs84(envelope, crs)
    assert back.covers(shapely.box(*box))
    assert back.area <= shapely.box(*box).area * (1 + 1e-5)


@pytest.mark.parametrize("box", BOXES[:2])
@pytest.mark.parametrize("crs", ["EPSG:25832", "EPSG:25833", "EPSG:3857"])
def test_a_projected_envelope_covers_the_box_despite_curved_edges(box, crs) -> None:
    envelope = bbox_from_crs84(box, crs)
    assert envelope is not None
    assert back_in_crs84(envelope, crs).covers(shapely.box(*box))
