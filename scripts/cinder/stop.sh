#!/usr/bin/env bash
# Stops the Cinder started by start.sh (SIGTERM, then SIGKILL after CINDER_STOP_TIMEOUT seconds, default 20).
# A <defunct> zombie counts as stopped. Leaves the configuration and database in place (remove
# $CINDER_DIR to start from scratch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
timeout=${CINDER_STOP_TIMEOUT:-20}

if [ ! -f "$CINDER_PIDFILE" ]; then
  echo "Cinder is not running (no $CINDER_PIDFILE)"
  exit 0
fi
pid=$(cat "$CINDER_PIDFILE")
[[ "$pid" =~ ^[0-9]+$ ]] || { echo "cinder stop FAILED: $CINDER_PIDFILE does not hold a pid" >&2; exit 1; }
if ! process_alive "$pid"; then
  rm -f "$CINDER_PIDFILE"
  echo "Cinder is not running (pid $pid already exited)"
  exit 0
fi
# Make sure the pid is ours before signalling it: the launcher's command line names aio.py.
if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -q 'scripts/cinder/aio.py'; then
  echo "cinder stop FAILED: pid $pid is not the all-in-one Cinder (stale $CINDER_PIDFILE?); not signalling it" >&2
  exit 1
fi
kill -TERM "$pid" 2> /dev/null || true
for _ in $(seq 1 $(( timeout * 5 ))); do
  process_alive "$pid" || break
  sleep 0.2
done
if process_alive "$pid"; then
  echo "cinder stop: pid $pid ignored SIGTERM for ${timeout}s; sending SIGKILL" >&2
  kill -KILL "$pid" 2> /dev/null || true
  sleep 0.5
fi
if process_alive "$pid"; then
  echo "cinder stop FAILED: pid $pid is still running" >&2
  exit 1
fi
rm -f "$CINDER_PIDFILE"
echo "Cinder stopped (pid $pid)"
