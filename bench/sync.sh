#!/usr/bin/env bash
# Benchmark of the sync engine (crates/sync) against `kubectl apply
# --server-side` on the local control plane: 2,000 objects (mixed kinds, 20
# namespaces) synced fresh (ratio driftless / kubectl, goal <= 1.0), then
# re-synced unchanged (time and writes, goal 0 writes). Uses the cluster named
# by DRIFTLESS_TEST_KUBECONFIG, or starts one.
# Usage: bench/sync.sh [--release] [--namespaces N] [--per-namespace N] [--concurrency N]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
if [[ "${1:-}" == "--release" ]]; then profile=(--release); shift; fi
exec cargo run -q "${profile[@]}" -p driftless-sync --example sync-bench -- "$@"
