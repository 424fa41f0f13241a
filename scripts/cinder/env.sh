# Shared defaults of the scripts in scripts/cinder/ (sourced, not run).
# shellcheck shell=bash
CINDER_DIR=${CINDER_DIR:-${TMPDIR:-/tmp}/evs-authz-cinder}
if [ -z "${CINDER_PORT:-}" ] && [ -r "$CINDER_DIR/port" ]; then CINDER_PORT=$(cat "$CINDER_DIR/port"); fi
CINDER_PORT=${CINDER_PORT:-18776}
CINDER_URL="http://127.0.0.1:$CINDER_PORT"
CINDER_PIDFILE="$CINDER_DIR/cinder.pid"

# True when the pid is a live process (a <defunct> zombie counts as stopped: PID 1 may not reap it).
cinder_alive () {
  local state
  [ -r "/proc/$1/stat" ] || return 1
  # The third field of /proc/PID/stat, after "(comm)": R, S, D, ... or Z for a zombie.
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1) || return 1
  case "$state" in Z|X|'') return 1 ;; esac
  return 0
}
