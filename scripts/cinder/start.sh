#!/usr/bin/env bash
# Starts the all-in-one Cinder (scripts/cinder/aio.py) in the background on 127.0.0.1 and waits until it
# is really ready: the API answers, the scheduler sees the fake pool, and a volume create reaches
# `available` (and is deleted again). Writes $CINDER_DIR/cinder.pid. Run setup.sh first.
#
# Environment: CINDER_DIR, CINDER_PORT (as setup.sh), CINDER_START_TIMEOUT (seconds, default 90).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
timeout=${CINDER_START_TIMEOUT:-90}
conf="$CINDER_DIR/cinder.conf"
auth=$(cat "$CINDER_DIR/auth-mode" 2> /dev/null || echo noauth)

fail () {
  echo "cinder start FAILED: $*" >&2
  for log in "$CINDER_DIR/cinder.log" "$CINDER_DIR/stdout.log"; do
    if [ -s "$log" ]; then echo "--- last lines of $log:" >&2; tail -n 25 "$log" >&2; fi
  done
  exit 1
}

[ -r "$conf" ] || { echo "cinder start FAILED: no configuration at $conf; run scripts/cinder/setup.sh first" >&2; exit 1; }
[ -f "$CINDER_DIR/db-synced" ] || { echo "cinder start FAILED: the database in $CINDER_DIR is not synced; run scripts/cinder/setup.sh" >&2; exit 1; }
command -v curl > /dev/null || { echo "cinder start FAILED: curl is needed for the readiness checks" >&2; exit 1; }

# Project and token for the readiness probe (isolated mode needs the admin role for get_pools).
probe=ffffffffffffffffffffffffffffffff
token="cinder-start:$probe"
[ "$auth" = isolated ] && token="$token:admin"
if [ "$auth" = keystone ]; then
  # A real token of the cinder service user (admin on `service`); the probe runs in that project.
  # shellcheck source=/dev/null
  . "$CINDER_DIR/keystone-probe.env"
  body='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"cinder","domain":{"name":"Default"},"password":"'"$PROBE_PASSWORD"'"}}},"scope":{"project":{"name":"service","domain":{"name":"Default"}}}}}'
  issued=$(curl -sS -m 10 -D - -o "$CINDER_DIR/probe-token.json" -H 'Content-Type: application/json' -d "$body" "$PROBE_KEYSTONE_URL/v3/auth/tokens?nocatalog") ||
    fail "cannot get a token from $PROBE_KEYSTONE_URL (is Keystone running?)"
  token=$(tr -d '\r' <<< "$issued" | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
  probe=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"]["project"]["id"])' "$CINDER_DIR/probe-token.json")
  [ -n "$token" ] && [ -n "$probe" ] || fail "Keystone gave no token for the cinder user"
fi
api () { curl -sS -m 10 -H "X-Auth-Token: $token" -H 'Content-Type: application/json' "$@"; }

if [ -f "$CINDER_PIDFILE" ] && process_alive "$(cat "$CINDER_PIDFILE")"; then
  if [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$CINDER_URL/")" = 300 ]; then
    echo "Cinder already running on $CINDER_URL (pid $(cat "$CINDER_PIDFILE"))"
    exit 0
  fi
  fail "pid $(cat "$CINDER_PIDFILE") from $CINDER_PIDFILE is alive but $CINDER_URL does not answer; run scripts/cinder/stop.sh"
fi
rm -f "$CINDER_PIDFILE"
if command -v ss > /dev/null && ss -Hltn "sport = :$CINDER_PORT" 2> /dev/null | grep -q .; then
  fail "port $CINDER_PORT is already in use (ss -ltnp 'sport = :$CINDER_PORT'); set CINDER_PORT and re-run setup.sh"
fi

started=$(date +%s.%N)
: > "$CINDER_DIR/stdout.log"
# PYTHONWARNINGS: stdout would otherwise fill with oslo.policy deprecation warnings; the log is cinder.log.
# PYTHONPATH: isolated mode's paste filter (cinder_token_identity.py) lives in the config dir.
PYTHONWARNINGS=ignore PYTHONPATH="$CINDER_DIR" nohup setsid /usr/bin/python3 "$here/aio.py" --config-file "$conf" \
  >> "$CINDER_DIR/stdout.log" 2>&1 < /dev/null &
pid=$!
echo "$pid" > "$CINDER_PIDFILE"
echo "==> cinder start: pid $pid, waiting for $CINDER_URL (log: $CINDER_DIR/cinder.log)"

deadline=$(( $(date +%s) + timeout ))
wait_for () { # wait_for DESCRIPTION COMMAND...: retries COMMAND until it succeeds
  local what=$1; shift
  until "$@"; do
    process_alive "$pid" || fail "the Cinder process (pid $pid) exited while waiting for: $what"
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${timeout}s waiting for: $what"
    sleep 0.3
  done
}
api_answers () { [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$CINDER_URL/")" = 300 ]; }
pool_seen () { api "$CINDER_URL/v3/$probe/scheduler-stats/get_pools" 2> /dev/null | grep -q '"cinder-test@fake#fake"'; }
wait_for "the API to answer GET / with 300" api_answers
wait_for "the scheduler to see the fake pool (scheduler-stats/get_pools)" pool_seen

# A volume create must really complete (scheduler -> volume manager -> fake driver), and a delete too.
volume=$(api -X POST -d '{"volume": {"size": 1, "name": "cinder-start-probe"}}' "$CINDER_URL/v3/$probe/volumes" |
  sed -n 's/.*"volume": {[^}]*"id": "\([0-9a-f-]*\)".*/\1/p' | head -n 1)
[ -n "$volume" ] || volume=$(api "$CINDER_URL/v3/$probe/volumes?name=cinder-start-probe" | grep -o '"id": "[0-9a-f-]*"' | head -n 1 | cut -d'"' -f4)
[ -n "$volume" ] || fail "POST /v3/$probe/volumes did not return a volume id"
status_of () { api "$CINDER_URL/v3/$probe/volumes/$volume" 2> /dev/null | grep -o '"status": "[a-z_-]*"' | head -n 1 | cut -d'"' -f4; }
volume_available () {
  local s; s=$(status_of)
  [ "$s" = error ] && fail "the probe volume $volume went to status error (no valid backend?)"
  [ "$s" = available ]
}
wait_for "the probe volume to become available" volume_available
api -X DELETE -o /dev/null "$CINDER_URL/v3/$probe/volumes/$volume"
volume_gone () { [ "$(api -o /dev/null -w '%{http_code}' "$CINDER_URL/v3/$probe/volumes/$volume")" = 404 ]; }
wait_for "the probe volume to be deleted" volume_gone

elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "Cinder ready on $CINDER_URL in ${elapsed}s (pid $pid, auth $auth, config $conf, log $CINDER_DIR/cinder.log)"
