#!/usr/bin/env bash
# Builds the control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd, kwok) from the pinned Go wrapper modules beside this
# script, into a cache directory keyed by version. A second run is a no-op.
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
mkdir -p "$bin"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { echo "build-binaries: $*" >&2; }

build() { # build <module dir> <output dir> <ldflags> <packages...>
  local dir=$1 out=$2 ldflags=$3
  shift 3
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$out/" "$@")
}

if [[ ! -x $bin/kube-apiserver || ! -x $bin/kube-controller-manager || ! -x $bin/kube-scheduler ]]; then
  minor=$(echo "$k8s_version" | cut -d. -f2)
  log "building Kubernetes $k8s_version (cold builds take 10-25 minutes on 2 cores)"
  tmp=$(mktemp -d "$bin/.k8s.XXXX")
  build "$here/k8s" "$tmp" \
    "-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
  mv "$tmp"/* "$bin/" && rmdir "$tmp"
fi

if [[ ! -x $bin/etcd ]]; then
  log "building etcd $etcd_version"
  tmp=$(mktemp -d "$bin/.etcd.XXXX")
  build "$here/etcd" "$tmp" "-s -w" go.etcd.io/etcd/server/v3
  mv "$tmp/v3" "$bin/etcd" 2>/dev/null || mv "$tmp"/* "$bin/etcd"
  rm -rf "$tmp"
fi

if [[ ! -x $bin/kwok ]]; then
  log "building kwok $kwok_version"
  tmp=$(mktemp -d "$bin/.kwok.XXXX")
  build "$here/kwok" "$tmp" "-s -w" sigs.k8s.io/kwok/cmd/kwok
  mv "$tmp"/kwok "$bin/kwok" && rmdir "$tmp"
fi

echo "$bin"
