#!/bin/sh
# Render benchmark: seed overlays and a 511-object synthetic overlay tree,
# rendered alternately by `driftless render` and `kubectl kustomize`; prints
# median wall time, peak RSS and the ratios, and the in-process render time.
#   bench/render.sh [--runs N] [--no-cli]
# Needs kubectl on PATH. A measurement, not a test.
set -eu
cd "$(dirname "$0")/.."
runs=11
cli=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --no-cli) cli=no; shift ;;
    *) echo "usage: $0 [--runs N] [--no-cli]" >&2; exit 2 ;;
  esac
done
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 1; }
set --
if [ "$cli" = yes ]; then
  # Measure the binary the container image ships (static, release profile).
  deploy/build-static.sh target/static >/dev/null
  set -- --driftless "$(pwd)/target/static/driftless"
fi
cargo run --release -p driftless-render --example bench -- --runs "$runs" "$@"
