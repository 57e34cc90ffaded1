"""The demo: three cities' synthetic street-tree cadastres and a configuration mapping them
onto the street-trees profile (`demo.yaml`, next to this file).

`ensure_demo_data()` writes the data files once (see `gateway.demo.generate`) and returns
their folder; point `TWINBRIDGE_DEMO_DIR` at it before loading `demo.yaml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEMO_CONFIG = Path(__file__).with_name("demo.yaml")
_LAZY = ("DIR_ENV", "GENERATOR_VERSION", "ensure_demo_data")


def __getattr__(name: str) -> Any:
    # Imported on first use, so `python -m gateway.demo.generate` runs the module only once.
    if name in _LAZY:
        from gateway.demo import generate

        return getattr(generate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEMO_CONFIG", *_LAZY]
