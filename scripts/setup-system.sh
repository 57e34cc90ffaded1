#!/usr/bin/env bash
# Installs the Debian packages the integration tests and benchmarks talk to, and makes sure
# the machine's PostgreSQL runs. Idempotent: a second run changes nothing and is quick.
set -euo pipefail

packages=(gdal-bin postgresql-15-postgis-3 cgi-mapserver mapserver-bin lighttpd wrk mosquitto redis-server)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-system: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# HAProxy for the scale-out tests (tests/scaleout/), which start their own haproxy process
# with a generated config: the system service is never started. policy-rc.d answering 101
# keeps the package's postinst from starting it; one is put in place only for this install.
if ! dpkg-query -W -f='${Status}' haproxy 2>/dev/null | grep -q "install ok installed"; then
  echo "setup-system: installing haproxy (service left stopped)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT  # also when the install fails
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends haproxy >/dev/null
fi

# PostgreSQL is started by the machine; start it if it stopped.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi

# Mosquitto is started by the machine too (MQTT tests); start it if it stopped.
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
fi

# Redis is started by the machine too (shared state tests, tests/shared); start it if it stopped.
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  redis-server /etc/redis/redis.conf --daemonize yes || true
fi
