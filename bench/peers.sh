#!/usr/bin/env bash
# driftless and Flux side by side (issue 15), each on its own fresh local
# control plane and Git server, in this one invocation: a measurement, never
# a test. See bench/README.md.
#
#   bench/peers.sh [N] [--idle SECS] [--pushes K] [--out DIR] [--cold-timeout SECS] [--cold-only]
#                                   # N default 1000, idle 300 s, 30 pushes
#
# Flux's controllers come from tests/cluster/build-flux.sh (built once,
# cached); when they cannot be built, Flux's figures read `n/a (<reason>)`.
# driftless is the release build (or $DRIFTLESS_CONTROLLER_BIN).
# The last line printed is `peers N=<N>: driftless <s> s <MiB> MiB <req>
# req/app, flux <s> s <MiB> MiB`; the table and chart also go to --out
# (default target/peers).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
[[ $# -gt 0 ]] && shift
mkdir -p target/peers

flux=()
if env=$(tests/cluster/build-flux.sh 2>target/peers/build-flux.log); then
  eval "$env"
  flux=(--flux "$DRIFTLESS_FLUX")
else
  reason=$(grep -v '^build-flux: ' target/peers/build-flux.log | tail -n 1)
  echo "peers: Flux could not be built (target/peers/build-flux.log): $reason" >&2
  flux=(--flux-unavailable "tests/cluster/build-flux.sh failed: ${reason:-see target/peers/build-flux.log}")
fi

bin=${DRIFTLESS_CONTROLLER_BIN:-}
if [[ -z $bin ]]; then
  cargo build -q --release -p driftless-cli
  bin=target/release/driftless
fi
exec cargo run -q --release -p driftless-bench-peers -- "$n" "$@" "${flux[@]}" --driftless "$bin"
