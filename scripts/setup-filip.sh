#!/usr/bin/env bash
# FiLiP (FIWARE's Python client) pins paho-mqtt 2.0 and an older pydantic than ours, so it
# lives in a venv of its own: tests/ngsi/test_broker_v2_filip.py runs its scripts there
# against the NGSI test broker. Idempotent: does nothing once FiLiP imports.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-filip
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import filip" 2>/dev/null; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "filip==0.8.*"
