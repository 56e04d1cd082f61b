#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller, the peer that
# bench/peers.sh measures driftless against, and its notification-controller
# (the webhook Receiver the benchmark announces pushes to), from the pinned
# Go wrapper modules beside this script (`flux-source/`, `flux-kustomize/`,
# `flux-notification/`), into
# ~/.cache/driftless/bin/flux-<versions>/, with Flux's own CRDs (taken from
# the built modules' config/crd/bases) in its crds/ folder. A second run is a
# no-op; a concurrent run waits on a lock in the cache for the first one.
#
# Not run by tests/setup.sh or CI: only bench/peers.sh needs it.
#
# Usage: tests/cluster/build-flux.sh
#   Prints `export DRIFTLESS_FLUX=<dir>` on stdout (the dir holds
#   source-controller, kustomize-controller, notification-controller and
#   crds/):
#   eval "$(tests/cluster/build-flux.sh)"
# Env:   DRIFTLESS_CACHE (default ~/.cache/driftless)
#
# Versions: v1.9.6 of both, not v1.10.x: v1.10.x needs
# github.com/fluxcd/pkg/spiffe and github.com/fluxcd/pkg/apis/crypto, which
# the Go module proxy reachable here does not serve (403 "This module version
# is not available"); see tests/cluster/README.md. notification-controller
# v1.9.0: the newest v1.9.x the proxy serves (v1.9.5 and v1.9.6: 403).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DRIFTLESS_CACHE:-$HOME/.cache/driftless}

log_prefix=build-flux
# shellcheck source=lib/gobuild.sh
. "$here/lib/gobuild.sh"
# Flux's current releases declare a newer Go than the machine's; the Go
# module proxy serves this toolchain. Only this script needs it.
export GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0 GOFLAGS=-mod=mod

source_version=$(awk '/^require github.com\/fluxcd\/source-controller /{print $3}' "$here/flux-source/go.mod")
kustomize_version=$(awk '/^require github.com\/fluxcd\/kustomize-controller /{print $3}' "$here/flux-kustomize/go.mod")
notification_version=$(awk '/^require github.com\/fluxcd\/notification-controller /{print $3}' "$here/flux-notification/go.mod")
dir=$cache/bin/flux-source-$source_version-kustomize-$kustomize_version-notification-$notification_version

# crds <module dir> <module path>: copies the module's config/crd/bases.
copy_crds() {
  local mod=$1 path=$2 src
  src=$(cd "$mod" && go list -m -f '{{.Dir}}' "$path")
  cp "$src"/config/crd/bases/*.yaml "$tmp/crds/"
}

if [[ ! -x $dir/notification-controller ]]; then
  mkdir -p "$cache/bin"
  take_lock "$cache/bin/.flux-build.lock" "flux"
  if [[ ! -x $dir/notification-controller ]]; then # not built by the run we waited for
    tmp=$(mktemp -d "$cache/bin/.flux-build.XXXX")
    mkdir "$tmp/crds"
    build "source-controller $source_version" "$here/flux-source" "$tmp" "-s -w" \
      github.com/fluxcd/source-controller
    build "kustomize-controller $kustomize_version" "$here/flux-kustomize" "$tmp" "-s -w" \
      github.com/fluxcd/kustomize-controller
    build "notification-controller $notification_version" "$here/flux-notification" "$tmp" "-s -w" \
      github.com/fluxcd/notification-controller
    copy_crds "$here/flux-source" github.com/fluxcd/source-controller
    copy_crds "$here/flux-kustomize" github.com/fluxcd/kustomize-controller
    copy_crds "$here/flux-notification" github.com/fluxcd/notification-controller
    chmod -R u+w "$tmp/crds"
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
fi
echo "export DRIFTLESS_FLUX=$dir"
