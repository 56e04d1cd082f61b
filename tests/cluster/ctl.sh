#!/usr/bin/env bash
# Starts and stops a local Kubernetes control plane on 127.0.0.1 (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kwok with fake
# Nodes) in the background.
#
# Usage: tests/cluster/ctl.sh up     [name]   start (no-op if already up); prints `export KUBECONFIG=...`
#        tests/cluster/ctl.sh down   [name]   stop everything, verify no process is left
#        tests/cluster/ctl.sh env    [name]   print `export KUBECONFIG=...` (fails if not up)
#        tests/cluster/ctl.sh status [name]   list the components and whether they run
#
#   eval "$(tests/cluster/ctl.sh up)" && kubectl get nodes
#
# State lives in ${DRIFTLESS_STATE:-~/.cache/driftless/run}/<name> (default
# name: "default"); logs in <state>/logs. See run.sh for the other variables.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/procs.sh
source "$here/lib/procs.sh"

cmd=${1:-}
name=${2:-default}
root=${DRIFTLESS_STATE:-$HOME/.cache/driftless/run}
state=$root/$name
kubeconfig=$state/admin.kubeconfig

log() { echo "ctl[$name]: $*" >&2; }
die() { log "error: $*"; exit 1; }

supervisor_pid() {
  local pid
  pid=$(cat "$state/supervisor.pid" 2>/dev/null) || return 1
  procs_alive "$pid" || return 1
  echo "$pid"
}

is_up() { supervisor_pid >/dev/null && [[ -e $state/ready ]]; }

print_env() { echo "export KUBECONFIG=$kubeconfig"; }

up() {
  if is_up; then
    log "already up"
    print_env
    return 0
  fi
  if supervisor_pid >/dev/null; then
    log "a previous start is still in progress or stuck; stopping it first"
    down
  fi
  mkdir -p "$state"
  # Build (or find) the binaries first so the wait below covers startup only.
  local bin
  bin=${DRIFTLESS_BIN:-$("$here/build-binaries.sh")}
  rm -f "$state/ready" "$state/supervisor.pid"
  DRIFTLESS_BIN=$bin setsid "$here/run.sh" "$state" >"$state/supervisor.log" 2>&1 </dev/null &
  local pid=$! deadline=$((SECONDS + 180))
  until [[ -e $state/ready ]]; do
    procs_alive "$pid" || die "the control plane failed to start:
$(tail -n 40 "$state/supervisor.log")"
    ((SECONDS < deadline)) || { down; die "not ready after 180s; see $state/logs"; }
    sleep 0.2
  done
  log "up: kubectl --kubeconfig=$kubeconfig get nodes (logs in $state/logs)"
  print_env
}

down() {
  local pid listed=() line comp p
  if [[ -f $state/pids ]]; then
    while read -r comp p; do listed+=("$p"); done <"$state/pids"
  fi
  if pid=$(supervisor_pid); then
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while procs_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    procs_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  # Components die with the supervisor (parent-death signal); verify, and
  # kill any left over (only if the pid still runs one of our binaries).
  local left=()
  for p in "${listed[@]}"; do
    if procs_alive "$p" && [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */driftless/bin/* ]]; then
      kill -KILL "$p" 2>/dev/null || true
      left+=("$p")
    fi
  done
  sleep 0.2
  for p in "${left[@]}"; do
    procs_alive "$p" && die "process $p survived SIGKILL"
  done
  rm -f "$state/ready" "$state/supervisor.pid"
  rm -rf "$state/etcd"
  log "down"
}

case $cmd in
  up) up ;;
  down) down ;;
  env) is_up || die "not up (run: $0 up $name)"; print_env ;;
  status)
    if is_up; then log "up ($kubeconfig)"; else log "down"; fi
    if [[ -f $state/pids ]]; then
      while read -r comp p; do
        if procs_alive "$p"; then echo "$comp $p running"; else echo "$comp $p stopped"; fi
      done <"$state/pids"
    fi
    ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
