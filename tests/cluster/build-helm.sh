#!/usr/bin/env bash
# Builds the pinned `helm` (helm.sh/helm/v4, the version Argo CD's current
# release ships) and an OCI registry for chart tests
# (github.com/distribution/distribution/v3/cmd/registry) from the Go wrapper
# modules beside this script (`helm/`, `registry/`), each into a cache
# directory keyed by its version. A second run is a no-op; each build prints
# when it starts and how long it took, and a concurrent run waits on a lock
# in the cache for the first to finish.
#
# Usage: tests/cluster/build-helm.sh [all|helm]   # default all
#   Prints `export DRIFTLESS_HELM=<path>` (and `export DRIFTLESS_REGISTRY=<path>`
#   for `all`) on stdout: `eval "$(tests/cluster/build-helm.sh)"`.
# Env:   DRIFTLESS_CACHE (default ~/.cache/driftless)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DRIFTLESS_CACHE:-$HOME/.cache/driftless}
what=${1:-all}
case $what in all | helm) ;; *) echo "usage: $0 [all|helm]" >&2; exit 2 ;; esac

log_prefix=build-helm
# shellcheck source=lib/gobuild.sh
. "$here/lib/gobuild.sh"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

helm_version=$(awk '/^require helm.sh\/helm\/v4 /{print $3}' "$here/helm/go.mod")
registry_version=$(awk '/^require github.com\/distribution\/distribution\/v3 /{print $3}' "$here/registry/go.mod")
helm_bin=$cache/bin/helm-$helm_version/helm
registry_bin=$cache/bin/registry-$registry_version/registry

build_one() { # build_one <binary path> <what> <module dir> <ldflags> <package>
  local path=$1 what=$2 dir=$3 ldflags=$4 pkg=$5 tmp
  [[ -x $path ]] && return 0
  mkdir -p "$(dirname "$path")"
  take_lock "$cache/bin/.helm-build.lock" "$what"
  [[ -x $path ]] && return 0 # built by the run we waited for
  tmp=$(mktemp -d "$(dirname "$path")/.build.XXXX")
  build "$what" "$dir" "$tmp" "$ldflags" "$pkg"
  mv "$tmp/$(basename "$pkg")" "$path" && rmdir "$tmp"
}

build_one "$helm_bin" "helm $helm_version" "$here/helm" \
  "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  helm.sh/helm/v4/cmd/helm
echo "export DRIFTLESS_HELM=$helm_bin"

if [[ $what == all ]]; then
  build_one "$registry_bin" "registry $registry_version" "$here/registry" "-s -w" \
    github.com/distribution/distribution/v3/cmd/registry
  echo "export DRIFTLESS_REGISTRY=$registry_bin"
fi
