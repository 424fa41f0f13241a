#!/usr/bin/env bash
# Starts the Keystone written by setup.sh (uwsgi, one process, 127.0.0.1) in the background and waits
# until GET /v3 answers 200 and the admin can get a token. Writes $KEYSTONE_DIR/keystone.pid.
#
# Environment: KEYSTONE_DIR, KEYSTONE_PORT (as setup.sh), KEYSTONE_START_TIMEOUT (seconds, default 60).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
timeout=${KEYSTONE_START_TIMEOUT:-60}
fail () {
  echo "keystone start FAILED: $*" >&2
  for log in "$KEYSTONE_DIR/uwsgi.log" "$KEYSTONE_DIR/keystone.log"; do
    if [ -s "$log" ]; then echo "--- last lines of $log:" >&2; tail -n 20 "$log" >&2; fi
  done
  exit 1
}
[ -f "$KEYSTONE_DIR/bootstrapped" ] || { echo "keystone start FAILED: run scripts/keystone/setup.sh first ($KEYSTONE_DIR)" >&2; exit 1; }
# shellcheck source=/dev/null
. "$KEYSTONE_DIR/passwords.env"
issue_admin_token () {
  curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$KS_PASSWORD_ADMIN\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" \
    "$KEYSTONE_URL/v3/auth/tokens?nocatalog" | grep -q '^201$'
}
if [ -f "$KEYSTONE_PIDFILE" ] && process_alive "$(cat "$KEYSTONE_PIDFILE")"; then
  if issue_admin_token; then echo "Keystone already running on $KEYSTONE_URL (pid $(cat "$KEYSTONE_PIDFILE"))"; exit 0; fi
  fail "pid $(cat "$KEYSTONE_PIDFILE") is alive but $KEYSTONE_URL does not answer; run scripts/keystone/stop.sh"
fi
rm -f "$KEYSTONE_PIDFILE"
if command -v ss > /dev/null && ss -Hltn "sport = :$KEYSTONE_PORT" 2> /dev/null | grep -q .; then
  fail "port $KEYSTONE_PORT is already in use; set KEYSTONE_PORT and re-run setup.sh"
fi
started=$(date +%s.%N)
PYTHONWARNINGS=ignore nohup setsid uwsgi_python3 --ini "$KEYSTONE_DIR/uwsgi.ini" --pidfile "$KEYSTONE_PIDFILE.uwsgi" \
  > "$KEYSTONE_DIR/stdout.log" 2>&1 < /dev/null &
pid=$!
echo "$pid" > "$KEYSTONE_PIDFILE"
deadline=$(( $(date +%s) + timeout ))
until issue_admin_token; do
  process_alive "$pid" || fail "uwsgi (pid $pid) exited"
  [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${timeout}s waiting for a token from $KEYSTONE_URL"
  sleep 0.3
done
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "Keystone ready on $KEYSTONE_URL in ${elapsed}s (pid $pid, log $KEYSTONE_DIR/keystone.log)"
