#!/usr/bin/env bash
# `systemd-analyze verify` on deploy/journeyworker.service as it is installed: the unit in a scratch root's
# /etc/systemd/system beside the distribution's own units (its default dependencies), and a stand-in at its ExecStart
# path (the real binary is there only after `dotnet publish -o /opt/journeyworker`). verify reports unknown keys and
# bad values as warnings yet exits 0, so any output at all fails the check.
#
#   exit 0  the unit verified cleanly, or systemd-analyze cannot run here (why is printed: the check was skipped)
#   exit 1  the unit has problems (printed)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
unit=deploy/journeyworker.service
log() { echo "verify-unit: $*"; }

if ! command -v systemd-analyze >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's systemd package (for systemd-analyze)"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd >&2
  fi
  if ! command -v systemd-analyze >/dev/null 2>&1; then
    log "SKIPPED: systemd-analyze is missing and could not be installed (that needs root and apt-get)"
    exit 0
  fi
fi

units=""
for dir in /usr/lib/systemd/system /lib/systemd/system; do
  if [ -e "$dir/sysinit.target" ]; then units=$dir; break; fi
done
if [ -z "$units" ]; then
  log "SKIPPED: no distribution units (sysinit.target) to verify against"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd/system" "$root/etc/systemd/system"
cp -a "$units/." "$root/usr/lib/systemd/system/"
exec_start=$(sed -n 's/^ExecStart=[-@:+!]*//p' "$unit" | awk 'NR == 1 {print $1}')
mkdir -p "$root$(dirname "$exec_start")"
printf '#!/bin/sh\nexit 0\n' >"$root$exec_start"
chmod +x "$root$exec_start"
cp "$unit" "$root/etc/systemd/system/"

# The check of the check: a minimal unit must verify silently, or systemd-analyze cannot work in this environment
# (no /proc, a seccomp profile, an old version) and its complaints would say nothing about our unit.
printf '[Unit]\nDescription=probe\n\n[Service]\nExecStart=%s\n' "$exec_start" >"$root/etc/systemd/system/verify-probe.service"
if ! probe=$(systemd-analyze verify --root="$root" verify-probe.service 2>&1) || [ -n "$probe" ]; then
  log "SKIPPED: systemd-analyze cannot verify units here; on a minimal unit it said: ${probe:-(nothing, but failed)}"
  exit 0
fi

name=$(basename "$unit")
output=$(systemd-analyze verify --root="$root" "$name" 2>&1)
status=$?
if [ "$status" -ne 0 ] || [ -n "$output" ]; then
  log "FAILED: systemd-analyze verify $unit (exit $status):"
  echo "$output" | sed "s|$root||g"
  exit 1
fi
log "$unit verified ($(systemd-analyze --version | head -n 1))"
