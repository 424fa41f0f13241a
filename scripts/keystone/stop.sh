#!/usr/bin/env bash
# Stops the Keystone started by start.sh (SIGTERM to the uwsgi master, SIGKILL after
# KEYSTONE_STOP_TIMEOUT seconds, default 15). Leaves configuration and database in place.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
timeout=${KEYSTONE_STOP_TIMEOUT:-15}
if [ ! -f "$KEYSTONE_PIDFILE" ]; then echo "Keystone is not running (no $KEYSTONE_PIDFILE)"; exit 0; fi
pid=$(cat "$KEYSTONE_PIDFILE")
[[ "$pid" =~ ^[0-9]+$ ]] || { echo "keystone stop FAILED: $KEYSTONE_PIDFILE does not hold a pid" >&2; exit 1; }
if ! process_alive "$pid"; then rm -f "$KEYSTONE_PIDFILE"; echo "Keystone is not running (pid $pid already exited)"; exit 0; fi
# Make sure the pid is ours: its command line names our uwsgi.ini.
if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -qF "$KEYSTONE_DIR/uwsgi.ini"; then
  echo "keystone stop FAILED: pid $pid is not this Keystone (stale $KEYSTONE_PIDFILE?); not signalling it" >&2
  exit 1
fi
# The worker is the master's child: die-on-term and no-orphans take it down with the master.
workers=$(pgrep -P "$pid" || true)
kill -TERM "$pid" 2> /dev/null || true
for _ in $(seq 1 $(( timeout * 5 ))); do process_alive "$pid" || break; sleep 0.2; done
if process_alive "$pid"; then echo "keystone stop: pid $pid ignored SIGTERM; SIGKILL" >&2; kill -KILL "$pid" 2> /dev/null || true; sleep 0.5; fi
for worker in $workers; do if process_alive "$worker"; then kill -KILL "$worker" 2> /dev/null || true; fi; done
if process_alive "$pid"; then echo "keystone stop FAILED: pid $pid is still running" >&2; exit 1; fi
rm -f "$KEYSTONE_PIDFILE" "$KEYSTONE_PIDFILE.uwsgi"
echo "Keystone stopped (pid $pid)"
