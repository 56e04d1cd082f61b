#!/bin/sh
# Helm benchmark: a 24-object chart from a chart repository on 127.0.0.1
# rendered by driftless-helm (cold, render-cache miss, render-cache hit)
# against the pinned `helm template` of the same chart in the same run;
# prints the medians and the ratios.
#   bench/helm.sh [--runs N] [--debug]
# Builds the pinned helm once (tests/cluster/build-helm.sh). A measurement,
# not a test.
set -eu
cd "$(dirname "$0")/.."
runs=7
profile=--release
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --debug) profile=; shift ;;
    *) echo "usage: $0 [--runs N] [--debug]" >&2; exit 2 ;;
  esac
done
eval "$(tests/cluster/build-helm.sh)"
export DRIFTLESS_HELM DRIFTLESS_REGISTRY
# shellcheck disable=SC2086 # $profile is one flag or none
cargo run $profile -q -p driftless-helm --example bench -- --runs "$runs"
