#!/usr/bin/env bash
# Installs Debian's OpenStack Cinder API and clients (without Recommends, without starting the packaged
# service) and writes a throw-away configuration for a loopback-only, all-in-one Cinder:
# sqlite, in-process fake:// messaging, no Keystone, hex project ids, unlimited quotas, a fake volume
# driver that really completes creates and deletes. Idempotent: re-running reuses what is there.
#
#   scripts/cinder/setup.sh [--isolated]
#
# Environment:
#   CINDER_DIR   configuration and state directory (default: ${TMPDIR:-/tmp}/evs-authz-cinder)
#   CINDER_PORT  API port on 127.0.0.1 (default: 18776)
#   CINDER_AUTH  noauth (default), isolated (same as --isolated; see README "In front of OpenStack Cinder"), or keystone:
#                keystonemiddleware against a real Keystone (scripts/keystone/), enforce_new_defaults = true
#   CINDER_KEYSTONE_URL       keystone mode: the Keystone (default http://127.0.0.1:15000)
#   CINDER_KEYSTONE_PASSWORD  keystone mode: password of the `cinder` service user (admin + service on `service`)
#   CINDER_SKIP_INSTALL=1  skip apt (the packages must already be installed)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
dir=$CINDER_DIR
port=$CINDER_PORT
auth=${CINDER_AUTH:-noauth}
for arg in "$@"; do
  case "$arg" in
    --isolated) auth=isolated ;;
    --noauth) auth=noauth ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

step () { echo "==> cinder setup: $*"; }
fail () { echo "cinder setup FAILED: $*" >&2; exit 1; }

case "$auth" in noauth|isolated|keystone) ;; *) fail "CINDER_AUTH must be noauth, isolated or keystone, got '$auth'" ;; esac
if [ "$auth" = keystone ]; then
  [ -n "${CINDER_KEYSTONE_PASSWORD:-}" ] || fail "CINDER_AUTH=keystone needs CINDER_KEYSTONE_PASSWORD (the cinder service user's password)"
fi
[[ "$port" =~ ^[0-9]+$ ]] || fail "CINDER_PORT must be a number, got '$port'"
[ "$(uname -s)" = Linux ] && [ -r /etc/debian_version ] || fail "needs Debian (bookworm ships cinder-api 21.x, Zed)"

# --- 1. packages -------------------------------------------------------------------------------
packages=(cinder-api python3-cinderclient python3-openstackclient curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "${CINDER_SKIP_INSTALL:-0}" = 1 ] && fail "CINDER_SKIP_INSTALL=1 but not installed: ${missing[*]}"
  [ "$(id -u)" = 0 ] || fail "installing ${missing[*]} needs root (or run apt-get yourself)"
  step "installing ${missing[*]} (no Recommends; the packaged cinder-api service is kept from starting)"
  apt_install_services_off "${TMPDIR:-/tmp}/evs-authz-cinder-apt.log" "${missing[@]}"
fi
# The packaged service must not run: it would listen on every interface (uwsgi --http-socket :8776).
if [ -d /run/systemd/system ] && command -v systemctl > /dev/null; then
  systemctl disable --now cinder-api > /dev/null 2>&1 || true
fi
if [ -x /etc/init.d/cinder-api ]; then /etc/init.d/cinder-api stop > /dev/null 2>&1 || true; fi
if command -v ss > /dev/null && ss -Hltn 2>/dev/null | awk '{print $4}' | grep -qE '^(\*|0\.0\.0\.0|\[::\]):8776$'; then
  echo "cinder setup WARNING: something listens on *:8776 (the packaged cinder-api?); stop it: /etc/init.d/cinder-api stop" >&2
fi

py=/usr/bin/python3
[ -x "$py" ] || fail "$py is missing (Debian's python3 runs the OpenStack code)"
$py -c 'import cinder, cinderclient, openstackclient' 2> /dev/null || fail "Debian's python3 cannot import cinder / cinderclient / openstackclient"
# The all-in-one launcher uses the fake driver Debian ships with the tests.
$py -c 'import cinder.tests.fake_driver, cinder.tests.unit.brick.fake_lvm' 2> /dev/null ||
  fail "python3-cinder no longer ships cinder/tests/fake_driver.py; the all-in-one launcher cannot run"

# --- 2. configuration --------------------------------------------------------------------------
step "writing configuration to $dir (auth: $auth, port: 127.0.0.1:$port)"
mkdir -p "$dir/state" "$dir/lock"
paste_src=/usr/share/cinder-common/api-paste.ini
[ -r "$paste_src" ] || paste_src=/etc/cinder/api-paste.ini
[ -r "$paste_src" ] || fail "api-paste.ini not found (/usr/share/cinder-common or /etc/cinder)"
cp "$paste_src" "$dir/api-paste.ini"
strategy=noauth
if [ "$auth" = isolated ]; then
  # Cinder's keystone pipelines with our token-identity filter instead of keystonemiddleware.
  strategy=keystone
  sed -i -E '/^(keystone|keystone_nolimit) *=/ s/ authtoken / tokenidentity /' "$dir/api-paste.ini"
  grep -qE '^(keystone|keystone_nolimit) *=.* tokenidentity ' "$dir/api-paste.ini" || fail "could not patch the keystone pipelines of $dir/api-paste.ini"
  printf '\n[filter:tokenidentity]\npaste.filter_factory = cinder_token_identity:TokenIdentity.factory\n' >> "$dir/api-paste.ini"
  cp "$here/cinder_token_identity.py" "$dir/"
fi
# keystone: the packaged pipelines as they are (authtoken = keystonemiddleware).
[ "$auth" = keystone ] && strategy=keystone
cat > "$dir/cinder.conf" <<CONF
# Written by scripts/cinder/setup.sh: a throw-away, loopback-only Cinder for tests. Not for production.
[DEFAULT]
auth_strategy = $strategy
transport_url = fake://
api_paste_config = $dir/api-paste.ini
state_path = $dir/state
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = $port
osapi_volume_workers = 1
log_file = $dir/cinder.log
use_stderr = false
debug = false
# Hex project ids (Cinder's default project_id_regex); unlimited quotas (the default class is 10 / 10).
use_default_quota_class = false
quota_volumes = -1
quota_snapshots = -1
quota_gigabytes = -1
quota_backups = -1
quota_groups = -1
# All in one process (scripts/cinder/aio.py): API + scheduler + volume manager with the fake driver.
host = cinder-test
enabled_backends = fake
periodic_interval = 5
scheduler_driver_init_wait_time = 10
[fake]
volume_driver = cinder.tests.fake_driver.FakeLoggingVolumeDriver
volume_backend_name = fake
target_helper = fake
[database]
connection = sqlite:///$dir/cinder.sqlite
[oslo_concurrency]
lock_path = $dir/lock
CONF
if [ "$auth" = isolated ] || [ "$auth" = keystone ]; then
  printf '[oslo_policy]\nenforce_new_defaults = true\n' >> "$dir/cinder.conf"
fi
if [ "$auth" = keystone ]; then
  keystone=${CINDER_KEYSTONE_URL:-http://127.0.0.1:15000}
  cat >> "$dir/cinder.conf" <<CONF
[keystone_authtoken]
www_authenticate_uri = $keystone
auth_url = $keystone
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = service
username = cinder
password = $CINDER_KEYSTONE_PASSWORD
region_name = RegionOne
interface = public
service_token_roles_required = true
CONF
  chmod 600 "$dir/cinder.conf"
  # For start.sh's readiness probe (a real token of the cinder user).
  (umask 077; printf 'PROBE_KEYSTONE_URL=%s\nPROBE_PASSWORD=%s\n' "$keystone" "$CINDER_KEYSTONE_PASSWORD" > "$dir/keystone-probe.env")
fi
echo "$auth" > "$dir/auth-mode"
echo "$port" > "$dir/port"

# --- 3. database -------------------------------------------------------------------------------
if [ -s "$dir/cinder.sqlite" ] && [ -f "$dir/db-synced" ]; then
  step "database already synced ($dir/cinder.sqlite)"
else
  step "syncing the database (sqlite)"
  rm -f "$dir/cinder.sqlite" "$dir/db-synced"
  PYTHONWARNINGS=ignore /usr/bin/cinder-manage --config-file "$dir/cinder.conf" db sync > "$dir/db-sync.log" 2>&1 ||
    { tail -n 20 "$dir/db-sync.log" >&2; fail "cinder-manage db sync failed (log: $dir/db-sync.log)"; }
  touch "$dir/db-synced"
fi
if [ -f "$dir/cinder.pid" ] && process_alive "$(cat "$dir/cinder.pid")"; then
  step "Cinder from $dir is running (pid $(cat "$dir/cinder.pid")): restart it to apply the configuration (stop.sh, start.sh)"
else
  step "ready: scripts/cinder/start.sh starts Cinder on http://127.0.0.1:$port (config $dir/cinder.conf)"
fi
