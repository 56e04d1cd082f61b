#!/usr/bin/env bash
# Builds the control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd, kwok) from the pinned Go wrapper modules beside this
# script, into a cache directory keyed by version. A second run is a no-op.
# The first (cold) build takes about 10-15 minutes on 2 cores, most of it
# Kubernetes; each step prints when it starts and how long it took.
#
# Concurrent runs (the demo and the tests started together) share one build:
# the second waits on a lock in the cache directory and then finds the
# binaries built.
#
# Usage: tests/cluster/build-binaries.sh        # prints the bin directory
# Env:   DRIFTLESS_CACHE (default ~/.cache/driftless)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DRIFTLESS_CACHE:-$HOME/.cache/driftless}

k8s_version=$(awk '/^require k8s.io\/kubernetes /{print $3}' "$here/k8s/go.mod")
etcd_version=$(awk '/^require go.etcd.io\/etcd\/server\/v3 /{print $3}' "$here/etcd/go.mod")
kwok_version=$(awk '/^require sigs.k8s.io\/kwok /{print $3}' "$here/kwok/go.mod")

bin="$cache/bin/k8s-$k8s_version-etcd-$etcd_version-kwok-$kwok_version"
binaries=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

log_prefix=build-binaries
# shellcheck source=lib/gobuild.sh
. "$here/lib/gobuild.sh"

all_built() {
  local b
  for b in "${binaries[@]}"; do [[ -x $bin/$b ]] || return 1; done
}

if all_built; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
take_lock "$cache/bin/.build.lock" "the control-plane binaries in $bin"

if [[ ! -x $bin/kube-apiserver || ! -x $bin/kube-controller-manager || ! -x $bin/kube-scheduler ]]; then
  minor=$(echo "$k8s_version" | cut -d. -f2)
  log "Kubernetes $k8s_version is built once and cached in $bin (cold: about 10-15 minutes on 2 cores)"
  tmp=$(mktemp -d "$bin/.k8s.XXXX")
  build "kube-apiserver, kube-controller-manager, kube-scheduler $k8s_version" "$here/k8s" "$tmp" \
    "-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
  mv "$tmp"/* "$bin/" && rmdir "$tmp"
fi

if [[ ! -x $bin/etcd ]]; then
  tmp=$(mktemp -d "$bin/.etcd.XXXX")
  build "etcd $etcd_version" "$here/etcd" "$tmp" "-s -w" go.etcd.io/etcd/server/v3
  mv "$tmp/v3" "$bin/etcd" 2>/dev/null || mv "$tmp"/* "$bin/etcd"
  rm -rf "$tmp"
fi

if [[ ! -x $bin/kwok ]]; then
  tmp=$(mktemp -d "$bin/.kwok.XXXX")
  build "kwok $kwok_version" "$here/kwok" "$tmp" "-s -w" sigs.k8s.io/kwok/cmd/kwok
  mv "$tmp"/kwok "$bin/kwok" && rmdir "$tmp"
fi

echo "$bin"
