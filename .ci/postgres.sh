#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite's PostgreSQL pass.
#
#   bash .ci/postgres.sh             start one; prints two export lines (eval them, or copy them):
#                                      JOURNEYWORKER_TEST_POSTGRES       the connection string for the tests
#                                      JOURNEYWORKER_TEST_POSTGRES_DIR   its files, for "stop"
#   bash .ci/postgres.sh stop [DIR]  stop it and remove its files (DIR defaults to $JOURNEYWORKER_TEST_POSTGRES_DIR)
#
# Only the export lines go to stdout, so that `eval "$(bash .ci/postgres.sh)"` works; progress goes to stderr.
# The cluster is nobody's database: a fresh temp folder (in memory if /dev/shm has room), loopback
# only, trust authentication and no durability (fsync off), gone with "stop". It leaves the Debian
# package's own cluster and services alone.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced, its "set -e", traps and exits would become the caller's shell's.
  # shellcheck disable=SC2016 # the command is shown, not run
  echo 'postgres.sh: run it rather than source it: eval "$(bash .ci/postgres.sh)"' >&2
  return 1
fi
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

# The newest server installed from Debian's packages (/usr/lib/postgresql/<major>/bin); installs
# the package when there is none, as on a fresh CI machine.
newest_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then echo "$dir"; fi
  done | sort -V | tail -n 1
}

server_bin() {
  local bin
  bin=$(newest_bin)
  if [ -z "$bin" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      log "no PostgreSQL server found and not root: install Debian's postgresql package"
      return 1
    fi
    log "installing Debian's postgresql package"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
    bin=$(newest_bin)
    [ -n "$bin" ] || { log "the postgresql package brought no server under /usr/lib/postgresql"; return 1; }
  fi
  echo "$bin"
}

# PostgreSQL refuses to run as root, so as root the server runs as the package's "postgres" user
# (created here if the package did not); anyone else runs it as themselves.
server_user() {
  if [ "$(id -u)" -ne 0 ]; then
    id -un
    return
  fi
  if ! id postgres >/dev/null 2>&1; then
    log "creating the postgres system user"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  fi
  echo postgres
}

# Runs a server binary as the server user, from its own folder (it may not read the caller's).
as_server_user() {
  if [ "$(id -un)" = "$user" ]; then
    (cd "$base" && "$@")
  else
    (cd "$base" && runuser -u "$user" -- "$@")
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  # Not local: the EXIT trap below needs them even when the script stops inside this function.
  bin=$(server_bin)
  user=$(server_user)
  # In memory when there is room (/dev/shm): a cluster without fsync gains nothing from a disk, and its
  # writes (each CREATE DATABASE copies ~8 MB) would otherwise queue before the SQLite tests' fsyncs.
  # Either way a folder the server user can reach.
  local parent=/tmp
  if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -gt $((2 * 1024 * 1024)) ]; then
    parent=/dev/shm
  fi
  base=$(mktemp -d "$parent/journeyworker-pg.XXXXXX")
  data="$base/data"
  chown "$user" "$base"
  # A start that fails half-way leaves nothing behind.
  trap 'as_server_user "$bin/pg_ctl" -D "$data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$base"' EXIT

  # Durability is pointless for a cluster that lives as long as one CI run: no fsync, no sync at
  # initdb, the least WAL there is (no replicas). ~20 test hosts at once, each with a connection pool,
  # need more than the default 100 connections.
  as_server_user "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=trust \
    --encoding=UTF8 --no-locale --no-sync >"$base/initdb.log" 2>&1 \
    || { cat "$base/initdb.log" >&2; return 1; }
  cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$base'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 512MB
EOF

  # 55432 first (a port no default install uses), then the next ones; a port another process
  # takes between the check and the start shows up as a failed start, which moves on too.
  local started=""
  for port in $(seq 55432 55482); do
    port_in_use "$port" && continue
    rm -f "$base/server.log"
    if as_server_user "$bin/pg_ctl" -D "$data" -l "$base/server.log" -o "-p $port" -w -t 60 start >/dev/null; then
      started=yes
      break
    fi
    if ! grep -q 'could not bind\|already in use' "$base/server.log"; then
      cat "$base/server.log" >&2
      return 1
    fi
  done
  [ -n "$started" ] || { log "no free port between 55432 and 55482"; return 1; }

  for _ in $(seq 1 60); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
    sleep 0.5
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || { log "the server did not become ready"; cat "$base/server.log" >&2; return 1; }

  trap - EXIT
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') ready on 127.0.0.1:$port (files in $base)"
  echo "export JOURNEYWORKER_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres'"
  echo "export JOURNEYWORKER_TEST_POSTGRES_DIR='$base'"
}

stop() {
  local base=${1:-${JOURNEYWORKER_TEST_POSTGRES_DIR:-}} bin user
  # Only ever removes a folder this script made.
  case "$base" in
    */journeyworker-pg.*) ;;
    *) log "stop: no cluster folder given (or not one of ours): '$base'"; return 1 ;;
  esac
  [ -d "$base" ] || return 0
  user=$(stat -c %U "$base")
  if [ -f "$base/data/PG_VERSION" ]; then
    bin="/usr/lib/postgresql/$(cat "$base/data/PG_VERSION")/bin"
    # Immediate: nothing in it is worth a clean shutdown.
    as_server_user "$bin/pg_ctl" -D "$base/data" stop -m immediate >/dev/null 2>&1 || true
  fi
  rm -rf "$base"
  log "stopped and removed $base"
}

case "${1:-start}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 [start | stop [DIR]]" >&2; exit 2 ;;
esac
