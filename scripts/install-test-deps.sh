#!/usr/bin/env bash
# System packages the service tests need beyond pip (Debian): headless Chromium for the web-UI
# end-to-end test, Prometheus for the /metrics scrape test, wrk for benchmarks/loadtest.py --tool wrk.
# Idempotent; run as root (CI is). The tests skip without these only when neither CI nor
# HERON_REQUIRE_DATA is set.
set -euo pipefail
PKGS=(chromium prometheus wrk)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-test-deps: ${PKGS[*]} already installed"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# no daemons are started here: the tests start their own Prometheus on loopback
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# the Debian package may register (and, with a service manager, start) a system Prometheus on :9090;
# the tests never use it, but make sure it is not running to keep the port free
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl stop prometheus || true
fi
echo "install-test-deps: installed ${missing[*]}"
