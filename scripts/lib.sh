# Shared helpers of scripts/cinder/ and scripts/keystone/ (sourced, not run). The caller defines
# `step MESSAGE` and `fail MESSAGE` (fail exits).
# shellcheck shell=bash

# True when the pid is a live process (a <defunct> zombie counts as stopped: PID 1 may not reap it).
process_alive () {
  local state
  [ -r "/proc/$1/stat" ] || return 1
  # The third field of /proc/PID/stat, after "(comm)": R, S, D, ... or Z for a zombie.
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1) || return 1
  case "$state" in Z|X|'') return 1 ;; esac
  return 0
}

# apt_install_services_off LOG PACKAGE...: installs Debian packages without Recommends, keeping their
# packaged services from starting (invoke-rc.d asks policy-rc.d; exit 101 = "do not start"; a temporary
# one is used if none exists), retrying once after `apt-get update`. Waits for another apt to finish.
apt_install_services_off () {
  local log=$1
  shift
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local ok=1
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" > "$log" 2>&1; then
    step "apt-get install failed; running apt-get update and retrying"
    if ! apt-get -o DPkg::Lock::Timeout=600 update > /dev/null 2>&1; then
      ok=0
      echo "apt-get update failed (no Debian mirror reachable?)" >> "$log"
    elif ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" > "$log" 2>&1; then
      ok=0
    fi
  fi
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$ok" = 1 ] || { tail -n 20 "$log" >&2; fail "apt-get install $* failed (log: $log)"; }
}
