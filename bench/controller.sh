#!/bin/sh
# Controller benchmarks (issue 6), each against a local control plane and Git
# server that the benchmark starts itself. Measurements, not tests.
#   bench/controller.sh webhook [PUSHES]          push -> applied latency via the webhook, p50/p99 (default 50)
#   bench/controller.sh scale [APPS] [IDLE_SECS]  N Applications to all Synced, the controller's peak RSS, idle CPU and writes (default 1000, 60)
# The scale benchmark runs `driftless controller` (the release build, or
# $DRIFTLESS_CONTROLLER_BIN) as its own process; $DRIFTLESS_CONTROLLER_ARGS adds flags.
set -eu
cd "$(dirname "$0")/.."
what=${1:-}
[ $# -gt 0 ] && shift
case "$what" in
  webhook) exec cargo run -q --release -p driftless-controller --example bench_webhook -- "$@" ;;
  scale)
    [ -n "${DRIFTLESS_CONTROLLER_BIN:-}" ] || cargo build -q --release -p driftless-cli
    exec cargo run -q --release -p driftless-controller --example bench_scale -- "$@" ;;
  *) echo "usage: $0 webhook [PUSHES] | scale [APPS] [IDLE_SECS]" >&2; exit 2 ;;
esac
