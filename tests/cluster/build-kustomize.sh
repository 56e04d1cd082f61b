#!/usr/bin/env bash
# Builds the reference `kustomize` binary (the version kubectl embeds) from the
# Go module proxy into a cache directory keyed by version; a second run is a
# no-op. The CLI's `edit set image` tests compare their output with it.
#
# Usage: tests/cluster/build-kustomize.sh      # prints the binary's path
# Env:   DRIFTLESS_CACHE (default ~/.cache/driftless)
set -euo pipefail

version=v5.5.0
cache=${DRIFTLESS_CACHE:-$HOME/.cache/driftless}
bin="$cache/bin/kustomize-$version"

if [[ -x $bin/kustomize ]]; then
  echo "$bin/kustomize"
  exit 0
fi

mkdir -p "$bin"
# One build at a time per cache; a concurrent run waits, then finds it built.
exec 9>>"$cache/bin/.kustomize.lock"
flock 9
if [[ ! -x $bin/kustomize ]]; then
  echo "build-kustomize: building sigs.k8s.io/kustomize/kustomize/v5@$version ..." >&2
  start=$SECONDS
  GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$bin" \
    go install -trimpath "sigs.k8s.io/kustomize/kustomize/v5@$version" 9>&-
  echo "build-kustomize: built in $((SECONDS - start))s" >&2
fi
echo "$bin/kustomize"
