"""Tiny pygeoapi providers for the adapter's failure tests (loaded by dotted class path).

`options.fail` picks what `query()` and `get()` do: a pygeoapi provider exception by its
class name, `ValueError` (a bug in a plugin), `sleep` (hangs for `options.seconds`), or
nothing (three fixed features).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pygeoapi.provider import base

FEATURES = [
    {
        "type": "Feature",
        "id": str(i),
        "geometry": {"type": "Point", "coordinates": [10.0 + i / 10, 53.5]},
        "properties": {"name": f"Baum {i}", "height": 5 * i},
    }
    for i in range(1, 4)
]
RUNNING = threading.Semaphore(0)  # released once per call that starts


class ScriptedProvider(base.BaseProvider):
    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        options = provider_def.get("options") or {}
        self.fail = options.get("fail")
        self.seconds = float(options.get("seconds", 30))

    def get_fields(self) -> dict[str, Any]:
        return {"name": {"type": "string"}, "height": {"type": "integer"}}

    def _act(self) -> None:
        RUNNING.release()
        if self.fail == "sleep":
            time.sleep(self.seconds)
        elif self.fail == "ValueError":
            raise ValueError("a bug in the plugin")
        elif self.fail:
            raise getattr(base, self.fail)(f"scripted {self.fail}")

    def query(self, offset: int = 0, limit: int = 10, **kwargs: Any) -> dict[str, Any]:
        self._act()
        return {
            "type": "FeatureCollection",
            "features": FEATURES[offset : offset + limit],
            "numberMatched": len(FEATURES),
        }

    def get(self, identifier: Any, **kwargs: Any) -> dict[str, Any]:
        self._act()
        for feature in FEATURES:
            if feature["id"] == identifier:
                return feature
        raise base.ProviderItemNotFoundError(f"no {identifier}")
