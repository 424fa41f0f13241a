# Shared defaults of the scripts in scripts/cinder/ (sourced, not run).
# shellcheck shell=bash
CINDER_DIR=${CINDER_DIR:-${TMPDIR:-/tmp}/evs-authz-cinder}
if [ -z "${CINDER_PORT:-}" ] && [ -r "$CINDER_DIR/port" ]; then CINDER_PORT=$(cat "$CINDER_DIR/port"); fi
CINDER_PORT=${CINDER_PORT:-18776}
CINDER_URL="http://127.0.0.1:$CINDER_PORT"
CINDER_PIDFILE="$CINDER_DIR/cinder.pid"

# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
