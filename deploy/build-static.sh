#!/usr/bin/env bash
# Builds the statically linked release binary the container image ships.
# The Dockerfile's build stage and CI (.ci/run) both run exactly this, so the
# image build cannot rot unnoticed even where no Docker engine runs.
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
