#!/usr/bin/env bash
# The demo: a local control plane and Git server, the seeds' dev/staging/prod
# example pushed as a GitOps repository, the driftless controller, and the App
# of Apps root applied. Ends with `kubectl get applications -A` (every app
# Synced and Healthy, Deployments at 1/2/3 replicas), then pushes an image tag
# change to dev and shows dev follow while staging and prod stay.
#
# Usage: demo/run.sh [--keep]     (--keep leaves everything running)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
keep=false
[[ ${1:-} == --keep ]] && keep=true
state=${DRIFTLESS_STATE:-$HOME/.cache/driftless/run}/demo-work
rm -rf "$state" && mkdir -p "$state"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
pids=()
cleanup() {
  $keep && return
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  tests/cluster/ctl.sh down demo >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      echo "timed out waiting for $what" >&2
      return 1
    fi
    sleep 1
  done
}

say "building driftless and the test Git server"
cargo build -q --locked -p driftless-cli -p driftless-testkit --example git-server
driftless=$repo/target/debug/driftless

say "starting a local control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok)"
tests/cluster/build-binaries.sh >/dev/null
eval "$(tests/cluster/ctl.sh up demo)"
kubectl get nodes

say "starting a Git server on 127.0.0.1"
"$repo/target/debug/examples/git-server" --dir "$state/git" --user demo --password demo-secret \
  --repo gitops --no-ssh >"$state/git-server.log" 2>&1 &
pids+=($!)
wait_for 30 "the Git server" grep -q 'serving until killed' "$state/git-server.log"
http_url=$(awk '/^repo gitops:/{print $3}' "$state/git-server.log")
git_url=$(awk '/^git:\/\//{print $2}' "$state/git-server.log" | sed 's/<repo>/gitops/')
push_url=${http_url/http:\/\//http://demo:demo-secret@}
echo "repository: $git_url"

say "pushing the example GitOps repository (base + dev/staging/prod overlays + apps/)"
work=$state/checkout
cp -r demo/gitops-repo "$work"
grep -rl REPO_URL "$work" | xargs sed -i "s#REPO_URL#$git_url#g"
git -C "$work" init -q -b main
git -C "$work" add -A
git -C "$work" -c user.name=demo -c user.email=demo@example.com commit -qm "GitOps repository for my-app"
git -C "$work" push -q "$push_url" main

say "installing the CRDs and starting the controller"
"$driftless" crd | kubectl apply -f -
kubectl create namespace argocd --dry-run=client -o yaml | kubectl apply -f -
"$driftless" controller --namespaces argocd --listen 127.0.0.1:18080 --requeue-interval 30s \
  --cache-dir "$state/cache" >"$state/controller.log" 2>&1 &
pids+=($!)
wait_for 60 "the controller to be ready" curl -sf http://127.0.0.1:18080/readyz

say "applying the root Application (App of Apps)"
sed "s#REPO_URL#$git_url#" demo/root-app.yaml | kubectl apply -f -

all_synced_healthy() {
  local out
  out=$(kubectl get applications -n argocd -o jsonpath='{range .items[*]}{.metadata.name}={.status.sync.status}/{.status.health.status}{"\n"}{end}')
  [[ $(grep -c . <<<"$out") -eq 4 ]] && ! grep -qv '=Synced/Healthy$' <<<"$out"
}
wait_for 300 "all Applications Synced and Healthy" all_synced_healthy || {
  kubectl get applications -A; tail -n 50 "$state/controller.log"; exit 1; }

kubectl get applications -A
kubectl get deployments -A -l app=my-app

say "pushing an image tag change to dev only"
sed -i 's/newTag: "dev-latest"/newTag: "dev-2"/' "$work/overlays/dev/kustomization.yaml"
git -C "$work" -c user.name=demo -c user.email=demo@example.com commit -qam "dev: my-app image dev-2"
git -C "$work" push -q "$push_url" main
curl -sf -X POST -H 'Content-Type: application/json' \
  -d "{\"repository\":\"$git_url\",\"ref\":\"refs/heads/main\"}" http://127.0.0.1:18080/api/webhook >/dev/null || true
wait_for 120 "dev to run my-app:dev-2" bash -c "[[ \$(kubectl get deployment my-app -n development -o jsonpath='{.spec.template.spec.containers[0].image}') == my-registry/my-app:dev-2 ]]"
for ns in development staging production; do
  printf '%-12s %s\n' "$ns" "$(kubectl get deployment my-app -n "$ns" -o jsonpath='{.spec.template.spec.containers[0].image}')"
done
wait_for 120 "all Applications Synced and Healthy again" all_synced_healthy
kubectl get applications -A
if $keep; then
  echo "left running: export KUBECONFIG=$KUBECONFIG; controller log $state/controller.log"
fi
