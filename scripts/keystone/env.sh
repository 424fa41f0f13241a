# Shared defaults of the scripts in scripts/keystone/ (sourced, not run).
# shellcheck shell=bash
KEYSTONE_DIR=${KEYSTONE_DIR:-${TMPDIR:-/tmp}/evs-authz-keystone}
if [ -z "${KEYSTONE_PORT:-}" ] && [ -r "$KEYSTONE_DIR/port" ]; then KEYSTONE_PORT=$(cat "$KEYSTONE_DIR/port"); fi
KEYSTONE_PORT=${KEYSTONE_PORT:-15000}
KEYSTONE_URL="http://127.0.0.1:$KEYSTONE_PORT"
KEYSTONE_PIDFILE="$KEYSTONE_DIR/keystone.pid"

# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
