# Shared defaults of the scripts in scripts/keystone/ (sourced, not run).
# shellcheck shell=bash
KEYSTONE_DIR=${KEYSTONE_DIR:-${TMPDIR:-/tmp}/evs-authz-keystone}
if [ -z "${KEYSTONE_PORT:-}" ] && [ -r "$KEYSTONE_DIR/port" ]; then KEYSTONE_PORT=$(cat "$KEYSTONE_DIR/port"); fi
KEYSTONE_PORT=${KEYSTONE_PORT:-15000}
KEYSTONE_URL="http://127.0.0.1:$KEYSTONE_PORT"
KEYSTONE_PIDFILE="$KEYSTONE_DIR/keystone.pid"

# True when the pid is a live process (a <defunct> zombie counts as stopped: PID 1 may not reap it).
keystone_alive () {
  local state
  [ -r "/proc/$1/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1) || return 1
  case "$state" in Z|X|'') return 1 ;; esac
  return 0
}
