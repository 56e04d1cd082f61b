#!/usr/bin/env bash
# The demo: a local control plane and Git server, the seeds' examples pushed as
# two GitOps repositories, the driftless controller, and what users apply:
# the Argo CD App of Apps root (dev and staging, seeds 000/001/003) and seed
# 004's Flux chain (a GitRepository, then Kustomizations infrastructure → apps
# for production). Ends with `kubectl get applications,kustomizations,
# gitrepositories -A` (Synced/Healthy and Ready, Deployments at 1/2/5
# replicas), then pushes an image tag change to dev and shows dev follow while
# staging and production stay.
#
# Usage: demo/run.sh [--keep]     (--keep leaves everything running)
# Env:   DRIFTLESS_DEMO_LISTEN (the controller's address, default 127.0.0.1:18080),
#        DRIFTLESS_STATE (where the control plane and the demo keep their files)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
keep=false
[[ ${1:-} == --keep ]] && keep=true
state=${DRIFTLESS_STATE:-$HOME/.cache/driftless/run}/demo-work
rm -rf "$state" && mkdir -p "$state"

if [[ -t 2 ]]; then
  say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
else
  say() { printf '\n==> %s\n' "$*" >&2; }
fi
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

say "setting up: Debian packages, Rust components, control-plane binaries (first time: about 10-15 minutes)"
# shellcheck source=../tests/setup.sh
source tests/setup.sh

say "building driftless and the test Git server (first time: about 6 minutes)"
cargo build --locked -p driftless-cli --bin driftless -p driftless-testkit --example git-server
driftless=$repo/target/debug/driftless
listen=${DRIFTLESS_DEMO_LISTEN:-127.0.0.1:18080}

say "starting a local control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok)"
eval "$(tests/cluster/ctl.sh up demo)"
kubectl get nodes

say "starting a Git server on 127.0.0.1"
"$repo/target/debug/examples/git-server" --dir "$state/git" --user demo --password demo-secret \
  --repo gitops --repo fleet-infra --no-ssh >"$state/git-server.log" 2>&1 &
pids+=($!)
wait_for 30 "the Git server" grep -q 'serving until killed' "$state/git-server.log"
http_url=$(awk '/^repo gitops:/{print $3}' "$state/git-server.log")
git_url=$(awk '/^git:\/\//{print $2}' "$state/git-server.log" | sed 's/<repo>/gitops/')
push_url=${http_url/http:\/\//http://demo:demo-secret@}
echo "repository: $git_url"

push_tree() { # push_tree DIR REPO MESSAGE: DIR as the first commit of REPO's main
  git -C "$1" init -q -b main
  git -C "$1" add -A
  git -C "$1" -c user.name=demo -c user.email=demo@example.com commit -qm "$3"
  git -C "$1" push -q "${push_url/gitops/$2}" main
}

say "pushing the Argo CD repository (base + dev/staging/prod overlays + apps/) and seed 004's fleet-infra"
work=$state/checkout
cp -r demo/gitops-repo "$work"
grep -rl REPO_URL "$work" | xargs sed -i "s#REPO_URL#$git_url#g"
push_tree "$work" gitops "GitOps repository for my-app"
fleet=$state/fleet-infra
cp -r demo/fleet-infra "$fleet"
push_tree "$fleet" fleet-infra "fleet-infra: production infrastructure and apps"

say "installing the CRDs and starting the controller"
"$driftless" crd | kubectl apply -f -
for ns in argocd flux-system; do
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
done
"$driftless" controller --namespaces argocd,flux-system --listen "$listen" --requeue-interval 30s \
  --cache-dir "$state/cache" >"$state/controller.log" 2>&1 &
pids+=($!)
wait_for 60 "the controller to be ready" curl -sf http://$listen/readyz

say "applying the root Application (App of Apps: dev and staging)"
sed "s#REPO_URL#$git_url#" demo/root-app.yaml | kubectl apply -f -

say "applying seed 004's Flux objects (production): the GitRepository, then its Kustomizations as the seed writes them"
# As `flux create secret git --username --password` writes it; the
# GitRepository is the one `flux bootstrap` writes, pointed at this server.
kubectl create secret generic flux-system -n flux-system \
  --from-literal=username=demo --from-literal=password=demo-secret \
  --dry-run=client -o yaml | kubectl apply -f -
fleet_url=${http_url/gitops/fleet-infra}
sed "s#url: .*#url: $fleet_url#" tests/seeds/flux/source-004-flux-system.yaml | kubectl apply -f -
kubectl apply -f demo/fleet-infra/clusters/production/infrastructure.yaml \
  -f demo/fleet-infra/clusters/production/apps.yaml

all_synced_healthy() {
  local out
  out=$(kubectl get applications -n argocd -o jsonpath='{range .items[*]}{.metadata.name}={.status.sync.status}/{.status.health.status}{"\n"}{end}')
  [[ $(grep -c . <<<"$out") -eq 3 ]] && ! grep -qv '=Synced/Healthy$' <<<"$out"
}
all_ready() {
  local out
  out=$(kubectl get kustomizations,gitrepositories -n flux-system -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
  [[ $(grep -c . <<<"$out") -eq 3 ]] && ! grep -qv '=True$' <<<"$out"
}
show_all() { kubectl get applications,kustomizations,gitrepositories -A; }
wait_for 300 "all Applications Synced and Healthy" all_synced_healthy || {
  show_all; tail -n 50 "$state/controller.log"; exit 1; }
wait_for 300 "the GitRepository and both Kustomizations Ready" all_ready || {
  show_all; kubectl describe kustomizations -n flux-system | tail -n 40; tail -n 50 "$state/controller.log"; exit 1; }

show_all
kubectl get deployments -A -l app=my-app

say "pushing an image tag change to dev only"
sed -i 's/newTag: "dev-latest"/newTag: "dev-2"/' "$work/overlays/dev/kustomization.yaml"
git -C "$work" -c user.name=demo -c user.email=demo@example.com commit -qam "dev: my-app image dev-2"
git -C "$work" push -q "$push_url" main
curl -sf -X POST -H 'Content-Type: application/json' \
  -d "{\"repository\":\"$git_url\",\"ref\":\"refs/heads/main\"}" http://$listen/api/webhook >/dev/null || true
wait_for 120 "dev to run my-app:dev-2" bash -c "[[ \$(kubectl get deployment my-app -n development -o jsonpath='{.spec.template.spec.containers[0].image}') == my-registry/my-app:dev-2 ]]"
for ns in development staging production; do
  printf '%-12s %s\n' "$ns" "$(kubectl get deployment my-app -n "$ns" -o jsonpath='{.spec.template.spec.containers[0].image}')"
done
wait_for 120 "all Applications Synced and Healthy again" all_synced_healthy
show_all

say "the controller's log: one line per sync (only dev synced the push)"
pushed=$(git -C "$work" rev-parse HEAD)
wait_for 30 "the log line of dev's sync of $pushed" \
  grep -q "sync finished app=\"argocd/my-app-dev\" revision=$pushed" "$state/controller.log"
grep -o 'sync finished .*' "$state/controller.log"

say "what runs where"
cat <<SUMMARY
  control plane   export KUBECONFIG=$KUBECONFIG
                  kubectl get applications,kustomizations,gitrepositories -A
                  kubectl get deployments -A -l app=my-app
  Git             $git_url (push: $push_url)
                  $fleet_url (seed 004's fleet-infra; user demo, password demo-secret)
  controller      log: $state/controller.log; metrics: http://$listen/metrics
  webhook         POST http://$listen/api/webhook with a GitHub, GitLab, Gitea, Gogs or
                  Bitbucket push payload, or {"repository": URL, "ref": "refs/heads/main"}
                  (the demo posted the latter after its push)
SUMMARY
if $keep; then
  echo "  left running (--keep); stop it with: kill ${pids[*]}; tests/cluster/ctl.sh down demo"
else
  echo "  stopping everything now; demo/run.sh --keep leaves it running"
fi
