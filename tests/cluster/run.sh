#!/usr/bin/env bash
# Runs a local Kubernetes control plane in the foreground: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok with a few
# fake Nodes, all on 127.0.0.1 with free ports. Stops everything (and exits)
# on SIGTERM/SIGINT or when any component dies. Every component is started
# with a parent-death signal, so none outlives this script even if it is
# killed with SIGKILL.
#
# Usage: tests/cluster/run.sh <state dir>
# Files: <state>/admin.kubeconfig   admin kubeconfig (certificates embedded)
#        <state>/ready              exists while the control plane is usable
#        <state>/pids               "<component> <pid>" per line
#        <state>/supervisor.pid     this script's pid
#        <state>/logs/<component>.log
# Env:   DRIFTLESS_BIN    directory with the binaries (default: build-binaries.sh)
#        DRIFTLESS_NODES  number of fake Nodes (default 3)
#        DRIFTLESS_RESTART_AFTER  when set (seconds), a component that exits
#                         after the start is restarted that long after, with
#                         the same command, ports and etcd data (fault tests
#                         kill components on purpose); unset, any exit ends
#                         the control plane
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/certs.sh
source "$here/lib/certs.sh"
# shellcheck source=lib/nodes.sh
source "$here/lib/nodes.sh"
# shellcheck source=lib/procs.sh
source "$here/lib/procs.sh"

state=${1:?usage: run.sh <state dir>}
mkdir -p "$state"
state=$(cd "$state" && pwd)
nodes=${DRIFTLESS_NODES:-3}
log() { echo "control-plane[$(basename "$state")]: $*" >&2; }
die() { log "error: $*"; exit 1; }

bin=${DRIFTLESS_BIN:-$("$here/build-binaries.sh")}
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  [[ -x $bin/$b ]] || die "missing binary $bin/$b (run tests/cluster/build-binaries.sh)"
done
command -v kubectl >/dev/null || die "kubectl is not on PATH"
command -v setpriv >/dev/null || die "setpriv (util-linux) is not on PATH"

rm -f "$state/ready"
rm -rf "$state/etcd" "$state/logs"
mkdir -p "$state/logs"
echo $$ >"$state/supervisor.pid"
: >"$state/pids"

children=()
names=()
commands=()
restart_after=${DRIFTLESS_RESTART_AFTER:-}

# start <name> <command...>: runs a component in the background; it gets
# SIGKILL if this script dies.
start() {
  local name=$1
  shift
  setpriv --pdeathsig KILL -- "$@" >>"$state/logs/$name.log" 2>&1 </dev/null &
  children+=("$!")
  names+=("$name")
  commands+=("$(printf '%q ' "$@")")
  echo "$name $!" >>"$state/pids"
}

# restart <index>: starts the component again after $restart_after seconds
# and rewrites the pids file.
restart() {
  local i=$1 n
  log "${names[i]} exited; restarting it in ${restart_after}s"
  sleep "$restart_after"
  eval "setpriv --pdeathsig KILL -- ${commands[i]}" >>"$state/logs/${names[i]}.log" 2>&1 </dev/null &
  children[i]=$!
  for n in "${!children[@]}"; do echo "${names[n]} ${children[n]}"; done >"$state/pids.new"
  mv "$state/pids.new" "$state/pids"
}

stop_all() {
  local rc=$?
  trap - TERM INT EXIT
  rm -f "$state/ready"
  if ((${#children[@]} > 0)); then
    procs_stop "${children[@]}"
  fi
  : >"$state/pids"
  rm -f "$state/supervisor.pid"
  log "stopped"
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# wait_until <what> <seconds> <pid> <command...>: polls the command until it
# succeeds; fails if the component with <pid> dies or time runs out.
wait_until() {
  local what=$1 timeout=$2 pid=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    procs_alive "$pid" || die "$what exited while starting; last log lines:
$(tail -n 30 "$state/logs/$what.log")"
    ((SECONDS < deadline)) || die "$what not ready after ${timeout}s; last log lines:
$(tail -n 30 "$state/logs/$what.log")"
    sleep 0.2
  done
}

started=$SECONDS
pki=$state/pki
certs_generate "$pki"

etcd_port=$(procs_free_port)
etcd_peer_port=$(procs_free_port "$etcd_port")
api_port=$(procs_free_port "$etcd_port" "$etcd_peer_port")
kubeconfig=$state/admin.kubeconfig

start etcd "$bin/etcd" \
  --name=default \
  --data-dir="$state/etcd" \
  --listen-client-urls="http://127.0.0.1:$etcd_port" \
  --advertise-client-urls="http://127.0.0.1:$etcd_port" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster="default=http://127.0.0.1:$etcd_peer_port" \
  --unsafe-no-fsync=true \
  --log-level=warn
wait_until etcd 30 "${children[-1]}" curl -fsS "http://127.0.0.1:$etcd_port/health"

start kube-apiserver "$bin/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$api_port" \
  --endpoint-reconciler-type=none \
  --cert-dir="$state/apiserver" \
  --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" \
  --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=RBAC \
  --allow-privileged=true \
  --disable-admission-plugins=ServiceAccount \
  --profiling=false
wait_until kube-apiserver 90 "${children[-1]}" curl -fsS --cacert "$pki/ca.crt" \
  --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$api_port/readyz"

certs_kubeconfig "$pki" "https://127.0.0.1:$api_port" "$kubeconfig"

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig="$kubeconfig" \
  --leader-elect=false \
  --bind-address=127.0.0.1 \
  --secure-port=0 \
  --root-ca-file="$pki/ca.crt" \
  --service-account-private-key-file="$pki/sa.key" \
  --cluster-name=driftless-local \
  --profiling=false
start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig="$kubeconfig" \
  --leader-elect=false \
  --bind-address=127.0.0.1 \
  --secure-port=0 \
  --profiling=false
# kwok reads ~/.kwok/kwok.yaml unless told otherwise: give it its own file,
# so a developer's kwok configuration cannot change the tests.
cat >"$state/kwok.yaml" <<'KWOK'
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options: {}
KWOK
start kwok "$bin/kwok" \
  --kubeconfig="$kubeconfig" \
  --config="$state/kwok.yaml" \
  --manage-all-nodes=true \
  --cidr=10.244.0.0/16 \
  --node-ip=10.0.0.1 \
  --node-lease-duration-seconds=40

kc() { kubectl --kubeconfig="$kubeconfig" "$@"; }
nodes_manifest "$nodes" | kc apply -f - >/dev/null
# A Node is Ready once kwok has taken it over.
wait_until kwok 60 "${children[-1]}" kc wait --for=condition=Ready nodes --all --timeout=1s

for i in "${!children[@]}"; do
  procs_alive "${children[i]}" || die "${names[i]} exited while starting; last log lines:
$(tail -n 30 "$state/logs/${names[i]}.log")"
done

echo "$kubeconfig" >"$state/ready"
log "ready in $((SECONDS - started))s: https://127.0.0.1:$api_port, $nodes kwok nodes; export KUBECONFIG=$kubeconfig"

# Supervise: any component exiting ends the control plane, unless
# DRIFTLESS_RESTART_AFTER asks for restarts.
while true; do
  wait -n || true
  for i in "${!children[@]}"; do
    procs_alive "${children[i]}" && continue
    [[ -n $restart_after ]] || die "${names[i]} exited unexpectedly; last log lines:
$(tail -n 30 "$state/logs/${names[i]}.log")"
    restart "$i"
  done
done
