#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser tests (Playwright drives it; Playwright's own browser builds are never
# downloaded). Installs the package when /usr/bin/chromium is missing; says so and fails when it cannot, in which case
# the browser tests skip themselves with that reason.
set -uo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium.sh: no /usr/bin/chromium and not root: install Debian's chromium package for the browser tests" >&2
  exit 1
fi
echo "chromium.sh: installing Debian's chromium package" >&2
apt-get update >&2 || true
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core >&2
[ -x /usr/bin/chromium ] || { echo "chromium.sh: the chromium package brought no /usr/bin/chromium" >&2; exit 1; }
