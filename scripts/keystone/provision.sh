#!/usr/bin/env bash
# Provisions the running Keystone with the real `openstack` CLI (one process, commands on stdin):
# projects evs-a and evs-b, the personas of the e2e suite, the service users, a custom
# `snapshot-operator` role, and the catalog: volumev3 -> the evs-authz gateway (not Cinder), plus the
# placeholder image endpoint openstackclient needs for `volume create`. Idempotent.
#
#   GATEWAY_PORT=18800 scripts/keystone/provision.sh
#
# Users (passwords in $KEYSTONE_DIR/passwords.env): a-member (member on evs-a), a-reader (reader on
# evs-a), a-operator (member + snapshot-operator on evs-a), b-member (member on evs-b), b-admin (admin on evs-b),
# cinder (admin + service on service), evs-gateway (service on service: enough to validate tokens).
# Writes $KEYSTONE_DIR/openrc-<user> files (mode 600) for password auth with the CLIs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
gateway_port=${GATEWAY_PORT:-18800}
fail () { echo "keystone provision FAILED: $*" >&2; exit 1; }
[ -s "$KEYSTONE_DIR/passwords.env" ] || fail "no $KEYSTONE_DIR/passwords.env; run setup.sh and start.sh first"
# shellcheck source=/dev/null
. "$KEYSTONE_DIR/passwords.env"
export OS_AUTH_URL="$KEYSTONE_URL/v3" OS_IDENTITY_API_VERSION=3 OS_USERNAME=admin OS_PASSWORD="$KS_PASSWORD_ADMIN" \
  OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_INTERFACE=public OS_REGION_NAME=RegionOne
openstack () { PYTHONWARNINGS=ignore /usr/bin/python3 /usr/bin/openstack "$@"; }

volume_url="http://127.0.0.1:$gateway_port/v3/%(project_id)s"
commands=(
  'role create --or-show service'
  'role create --or-show snapshot-operator'
  'project create --or-show --domain default --description lab-project-A evs-a'
  'project create --or-show --domain default --description lab-project-B evs-b'
  'project create --or-show --domain default service'
)
add_user () { # add_user NAME PASSWORD PROJECT ROLE...
  local name=$1 password=$2 project=$3; shift 3
  commands+=("user create --or-show --domain default --password $password $name")
  for role in "$@"; do commands+=("role add --project $project --user $name $role"); done
}
add_user a-member "$KS_PASSWORD_A_MEMBER" evs-a member
add_user a-reader "$KS_PASSWORD_A_READER" evs-a reader
add_user a-operator "$KS_PASSWORD_A_OPERATOR" evs-a member snapshot-operator
add_user b-member "$KS_PASSWORD_B_MEMBER" evs-b member
add_user b-admin "$KS_PASSWORD_B_ADMIN" evs-b admin
add_user cinder "$KS_PASSWORD_CINDER" service admin service
add_user evs-gateway "$KS_PASSWORD_GATEWAY" service service
# endpoint create is not idempotent: only when the service is new.
services=$(openstack service list -f value -c Type) || fail "openstack service list failed (is Keystone up at $KEYSTONE_URL?)"
if ! grep -qx volumev3 <<< "$services"; then
  commands+=('service create --name cinderv3 volumev3')
  for interface in public internal admin; do commands+=("endpoint create --region RegionOne volumev3 $interface $volume_url"); done
fi
if ! grep -qx image <<< "$services"; then
  # openstackclient 6 builds an image client for `volume create` even without --image; nothing is sent there.
  commands+=('service create --name glance image' 'endpoint create --region RegionOne image public http://127.0.0.1:9/v2')
fi
started=$(date +%s)
out=$(printf '%s\n' "${commands[@]}" | openstack 2>&1) || fail "openstack batch exited non-zero: $out"
# cliff's batch mode keeps going after an error and exits 0: any line that is not a table is an error.
errors=$(grep -vE '^(\+[-+]+\+|\|.*\|)?$' <<< "$out" || true)
[ -z "$errors" ] || fail "openstack batch reported: $errors"
# The volumev3 endpoint must point at the gateway (a re-run with another GATEWAY_PORT would not move it).
urls=$(openstack endpoint list --service volumev3 -f value -c URL | sort -u)
[ "$urls" = "$volume_url" ] || fail "the volumev3 endpoints are $urls, expected $volume_url (remove $KEYSTONE_DIR to start again)"

umask 077
for user in a-member:A_MEMBER:evs-a a-reader:A_READER:evs-a a-operator:A_OPERATOR:evs-a b-member:B_MEMBER:evs-b b-admin:B_ADMIN:evs-b cinder:CINDER:service evs-gateway:GATEWAY:service; do
  IFS=: read -r name key project <<< "$user"
  password_var="KS_PASSWORD_$key"
  cat > "$KEYSTONE_DIR/openrc-$name" <<RC
export OS_AUTH_URL=$KEYSTONE_URL/v3 OS_IDENTITY_API_VERSION=3 OS_AUTH_TYPE=password OS_INTERFACE=public OS_REGION_NAME=RegionOne
export OS_USERNAME=$name OS_PASSWORD=${!password_var} OS_PROJECT_NAME=$project OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
RC
done
openstack project list -f value -c ID -c Name > "$KEYSTONE_DIR/projects"
echo "Keystone provisioned in $(( $(date +%s) - started ))s: volumev3 -> $volume_url; openrc files in $KEYSTONE_DIR"
