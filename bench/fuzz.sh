#!/usr/bin/env bash
# Fuzzes each target of fuzz/ (the YAML reader, the Kustomize parser and
# builder, the webhook parsers, CEL expressions) for a bounded time with
# `cargo fuzz` (a nightly toolchain and cargo-fuzz; the latter is installed
# from crates.io when missing), starting from the committed corpus
# fuzz/corpus/<target>. New inputs go to a scratch directory, so the
# committed corpus stays small. Prints the executions per target; exits
# non-zero on a crash (the input is kept under fuzz/artifacts/<target>/).
#
# Usage: FUZZ_SECONDS=60 bench/fuzz.sh [target...]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
seconds=${FUZZ_SECONDS:-60}
if (($# > 0)); then targets=("$@"); else targets=(yaml kustomize webhook cel); fi

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: blocked: no nightly toolchain (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz >&2
fi

cargo +nightly fuzz build --fuzz-dir fuzz >&2

status=0
for target in "${targets[@]}"; do
  scratch=$(mktemp -d)
  log=$(mktemp)
  if cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$scratch" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result=CRASHED
    status=1
    tail -n 40 "$log" >&2
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
  printf 'fuzz %-10s %s: %s executions in %ss\n' "$target" "$result" "${execs:-0}" "$seconds"
  rm -rf "$scratch" "$log"
done
exit "$status"
