#!/usr/bin/env bash
# Builds what the container image ships: the statically linked release
# binary, and the pinned `helm` it runs for charts (built from the Go module
# proxy by tests/cluster/build-helm.sh, static since CGO is off, cached by
# version). The Dockerfile's build stage and CI (.ci/run) both run exactly
# this, so the image build cannot rot unnoticed even where no Docker engine
# runs. Needs Go (the Dockerfile copies it from the golang image).
#
# Usage: deploy/build-static.sh [OUT_DIR]      (default: target/static)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/static}
target=x86_64-unknown-linux-gnu

# Static and position-dependent (like Go binaries, kubectl among them): with
# no start-up relocations to apply, a run touches 2 MiB less memory than a
# static-pie build (bench/render.sh measures it).
RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
  cargo build --release --locked -p driftless-cli --target "$target" --target-dir target/static-build

mkdir -p "$out"
cp "target/static-build/$target/release/driftless" "$out/driftless"
# A static binary names no shared libraries.
if ldd "$out/driftless" 2>&1 | grep -q '=>'; then
  echo "build-static: $out/driftless is dynamically linked:" >&2
  ldd "$out/driftless" >&2
  exit 1
fi
"$out/driftless" --version

# helm: the same pinned build the tests use.
export PATH=/usr/local/go/bin:$PATH
eval "$(tests/cluster/build-helm.sh helm)"
cp "$DRIFTLESS_HELM" "$out/helm"
if ldd "$out/helm" 2>&1 | grep -q '=>'; then
  echo "build-static: $out/helm is dynamically linked:" >&2
  ldd "$out/helm" >&2
  exit 1
fi
"$out/helm" version --short
