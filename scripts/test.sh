#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, the venv with the test extras) and
# runs the whole suite. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
bash scripts/setup-web.sh
bash scripts/setup-filip.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check .
# CI must never pass by skipping: service fixtures fail instead of skipping there.
if [ "${CI:-}" = "true" ]; then export TWINBRIDGE_REQUIRE_SERVICES=1; fi
# loadgroup: tests marked xdist_group(name) share one worker (and its module's processes)
exec .venv/bin/pytest -n "${PYTEST_WORKERS:-auto}" --dist loadgroup "$@"
