#!/usr/bin/env bash
# The demo with all it shows, from a fresh clone: a virtualenv with TwinBridge, OpenLayers
# for the HTML pages' map (npm; no browser is installed), then `twinbridge serve` on
# http://127.0.0.1:8000/. Arguments go to `twinbridge serve`. Without npm the demo still
# runs; its HTML pages then show their static SVG map and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e .
bash scripts/setup-web.sh --no-browser
exec .venv/bin/twinbridge serve "$@"
