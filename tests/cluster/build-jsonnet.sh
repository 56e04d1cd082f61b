#!/usr/bin/env bash
# Builds the reference `jsonnet` (go-jsonnet's cmd/jsonnet, the evaluator
# Argo CD's repo-server links) from the Go wrapper module beside this script
# (`jsonnet/`) into a cache directory keyed by its version. Only the Jsonnet
# conformance tests use it, as the oracle; driftless evaluates Jsonnet
# in-process. A second run is a no-op; a concurrent run waits on a lock.
#
# Usage: tests/cluster/build-jsonnet.sh
#   Prints `export DRIFTLESS_JSONNET=<path>` on stdout:
#   `eval "$(tests/cluster/build-jsonnet.sh)"`.
# Env:   DRIFTLESS_CACHE (default ~/.cache/driftless)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DRIFTLESS_CACHE:-$HOME/.cache/driftless}

log_prefix=build-jsonnet
# shellcheck source=lib/gobuild.sh
. "$here/lib/gobuild.sh"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

version=$(awk '/^require github.com\/google\/go-jsonnet /{print $3}' "$here/jsonnet/go.mod")
bin=$cache/bin/jsonnet-$version/jsonnet

if [[ ! -x $bin ]]; then
  mkdir -p "$(dirname "$bin")"
  take_lock "$cache/bin/.jsonnet-build.lock" "jsonnet $version"
  if [[ ! -x $bin ]]; then # not built by the run we waited for
    tmp=$(mktemp -d "$(dirname "$bin")/.build.XXXX")
    build "jsonnet $version" "$here/jsonnet" "$tmp" "-s -w" github.com/google/go-jsonnet/cmd/jsonnet
    mv "$tmp/jsonnet" "$bin" && rmdir "$tmp"
  fi
fi
echo "export DRIFTLESS_JSONNET=$bin"
