#!/usr/bin/env bash
# Installs Debian's Keystone (Zed; without Recommends, without starting the packaged service) and writes
# a throw-away, loopback-only configuration: sqlite, fernet tokens, [cache] on (in-process memory, so
# ONE uwsgi process), cheap bcrypt for test passwords. Then keystone-manage: fernet and credential keys,
# db_sync, bootstrap (admin user, admin/member/reader roles with their implications, identity endpoint).
# Generated passwords go to $KEYSTONE_DIR/passwords.env (mode 600). Idempotent: reuses what is there.
#
#   scripts/keystone/setup.sh
#
# Environment:
#   KEYSTONE_DIR   configuration and state directory (default: ${TMPDIR:-/tmp}/evs-authz-keystone)
#   KEYSTONE_PORT  port on 127.0.0.1 (default: 15000)
#   KEYSTONE_TOKEN_EXPIRATION  token lifetime in seconds (default: 3600)
#   KEYSTONE_SKIP_INSTALL=1    skip apt (the packages must already be installed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
dir=$KEYSTONE_DIR
port=$KEYSTONE_PORT
step () { echo "==> keystone setup: $*"; }
fail () { echo "keystone setup FAILED: $*" >&2; exit 1; }
case "${1:-}" in -h|--help) sed -n '2,14p' "$0"; exit 0 ;; '') ;; *) fail "unknown argument: $1" ;; esac
[[ "$port" =~ ^[0-9]+$ ]] || fail "KEYSTONE_PORT must be a number, got '$port'"
[ -r /etc/debian_version ] || fail "needs Debian (bookworm ships keystone 22, Zed)"

# --- 1. packages -------------------------------------------------------------------------------
packages=(keystone python3-keystoneclient python3-openstackclient uwsgi-core uwsgi-plugin-python3 curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "${KEYSTONE_SKIP_INSTALL:-0}" = 1 ] && fail "KEYSTONE_SKIP_INSTALL=1 but not installed: ${missing[*]}"
  [ "$(id -u)" = 0 ] || fail "installing ${missing[*]} needs root (or run apt-get yourself)"
  step "installing ${missing[*]} (no Recommends; the packaged keystone service is kept from starting)"
  # The postinst asks debconf; false everywhere = only write the packaged config, no db, no bootstrap.
  printf '%s\n' 'keystone keystone/configure_db boolean false' 'keystone keystone/create-admin-tenant boolean false' \
    'keystone keystone/register-endpoint boolean false' | debconf-set-selections
  apt_install_services_off "${TMPDIR:-/tmp}/evs-authz-keystone-apt.log" "${missing[@]}"
fi
# The packaged service must not run: it would listen on every interface (uwsgi --http-socket :5000).
if [ -d /run/systemd/system ] && command -v systemctl > /dev/null; then systemctl disable --now keystone > /dev/null 2>&1 || true; fi
if [ -x /etc/init.d/keystone ]; then /etc/init.d/keystone stop > /dev/null 2>&1 || true; fi
py=/usr/bin/python3
$py -c 'import keystone, keystoneclient, openstackclient' 2> /dev/null || fail "Debian's python3 cannot import keystone / keystoneclient / openstackclient"
command -v uwsgi_python3 > /dev/null || fail "uwsgi_python3 is missing (uwsgi-plugin-python3)"

# --- 2. configuration --------------------------------------------------------------------------
step "writing configuration to $dir (127.0.0.1:$port)"
mkdir -p "$dir/fernet-keys" "$dir/credential-keys"
chmod 700 "$dir"
if [ ! -s "$dir/passwords.env" ]; then
  umask 077
  {
    for name in ADMIN CINDER GATEWAY A_MEMBER A_READER A_OPERATOR B_MEMBER B_ADMIN; do
      echo "KS_PASSWORD_$name=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    done
  } > "$dir/passwords.env"
  umask 022
fi
cat > "$dir/keystone.conf" <<CONF
# Written by scripts/keystone/setup.sh: a throw-away, loopback-only Keystone for tests. Not for production.
[DEFAULT]
log_file = $dir/keystone.log
use_stderr = false
[database]
connection = sqlite:///$dir/keystone.sqlite
[token]
provider = fernet
expiration = ${KEYSTONE_TOKEN_EXPIRATION:-3600}
[fernet_tokens]
key_repository = $dir/fernet-keys
max_active_keys = 3
[fernet_receipts]
key_repository = $dir/fernet-keys
[credential]
key_repository = $dir/credential-keys
[identity]
# bcrypt cost of new hashes (default 12: ~350 ms per password check on 2 cores)
password_hash_rounds = 4
[cache]
# Without the cache a validation takes ~1 s (hundreds of SQL queries); memory backend = one process.
enabled = true
backend = dogpile.cache.memory
CONF
cat > "$dir/uwsgi.ini" <<INI
[uwsgi]
; http11-socket, not http-socket: keep-alive clients otherwise see resets
http11-socket = 127.0.0.1:$port
skip-atexit-teardown = true
module = keystone.server.wsgi:initialize_public_application()
env = OS_KEYSTONE_CONFIG_FILES=$dir/keystone.conf
chdir = $dir
master = true
processes = 1
threads = 4
enable-threads = true
lazy-apps = true
die-on-term = true
no-orphans = true
buffer-size = 65535
logto = $dir/uwsgi.log
INI
echo "$port" > "$dir/port"

# --- 3. keys, database, bootstrap ---------------------------------------------------------------
manage () { PYTHONWARNINGS=ignore /usr/bin/keystone-manage --config-file "$dir/keystone.conf" "$@" >> "$dir/manage.log" 2>&1 || { tail -n 20 "$dir/manage.log" >&2; fail "keystone-manage $1 failed (log: $dir/manage.log)"; }; }
if [ -f "$dir/bootstrapped" ] && [ -s "$dir/keystone.sqlite" ]; then
  step "already bootstrapped ($dir/keystone.sqlite)"
else
  rm -f "$dir/keystone.sqlite" "$dir/bootstrapped"
  # shellcheck source=/dev/null
  . "$dir/passwords.env"
  step "fernet and credential keys, db_sync, bootstrap"
  [ -e "$dir/fernet-keys/0" ] || manage fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  [ -e "$dir/credential-keys/0" ] || manage credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  manage db_sync
  manage bootstrap --bootstrap-username admin --bootstrap-password "$KS_PASSWORD_ADMIN" \
    --bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-service-name keystone \
    --bootstrap-region-id RegionOne --bootstrap-admin-url "$KEYSTONE_URL/v3" \
    --bootstrap-public-url "$KEYSTONE_URL/v3" --bootstrap-internal-url "$KEYSTONE_URL/v3"
  touch "$dir/bootstrapped"
fi
step "ready: scripts/keystone/start.sh starts Keystone on $KEYSTONE_URL; then scripts/keystone/provision.sh"
