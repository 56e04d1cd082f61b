#!/usr/bin/env bash
# Benchmark of the Git source (crates/source) against the git command line on
# the local Git server: cold clone and warm no-op fetch of a 5,000-file /
# 500-commit repository (ratio driftless / git), and resolve + read of a
# 50-file overlay. Usage: bench/source.sh [--release] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
if [[ "${1:-}" == "--release" ]]; then profile=(--release); shift; fi
exec cargo run -q "${profile[@]}" -p driftless-source --example source-bench -- "$@"
