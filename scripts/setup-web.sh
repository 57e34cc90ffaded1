#!/usr/bin/env bash
# Installs the browser parts, never committed: Debian's Chromium (Playwright drives it; browser
# downloads do not work here), and the npm packages of web/package-lock.json (OpenLayers for
# the gateway's HTML map; Masterportal's layer code, mqtt.js, axe-core and esbuild for the
# browser tests). Copies OpenLayers' build into gateway/static/vendor/, from where the
# gateway serves its map offline. Idempotent: a second run changes nothing and is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ "${1:-}" != "--no-browser" ]; then
  echo "setup-web: installing chromium"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup-web: npm is missing; the HTML pages are served without their map" >&2
  exit 0
fi
if [ ! -f web/node_modules/.package-lock.json ] || ! cmp -s web/package-lock.json web/node_modules/.lock-installed; then
  (cd web && npm ci --no-audit --no-fund --legacy-peer-deps --loglevel=error)
  cp web/package-lock.json web/node_modules/.lock-installed
fi

vendor=gateway/static/vendor
mkdir -p "$vendor"
for f in ol/dist/ol.js ol/ol.css; do
  cmp -s "web/node_modules/$f" "$vendor/$(basename "$f")" || cp "web/node_modules/$f" "$vendor/"
done
