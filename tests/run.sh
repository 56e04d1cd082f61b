#!/usr/bin/env bash
# The test command (README): lint, then every test in the workspace against
# one real local control plane (kube-apiserver, etcd, controller-manager,
# scheduler, kwok) that this script starts and stops. Tests that need Git
# start their own Git server on 127.0.0.1. tests/setup.sh first installs what
# a fresh Debian machine lacks (packages, Rust components) and builds the
# control-plane binaries (first time: about 10-15 minutes; cached after).
#
# Usage: tests/run.sh [extra cargo test args]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
name=tests-$$

step() { printf '\n==> %s\n' "$*" >&2; }

step "set-up (tests/setup.sh; the Go builds run behind the cargo build)"
export DRIFTLESS_SETUP_GO=background
# shellcheck source=setup.sh
source tests/setup.sh
unset DRIFTLESS_SETUP_GO

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test --workspace --no-run (the build)"
cargo test --workspace --locked --no-run

step "waiting for the Go-built binaries"
setup_wait_go

step "starting a local control plane ($name)"
cleanup() { tests/cluster/ctl.sh down "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
eval "$(tests/cluster/ctl.sh up "$name")"
export DRIFTLESS_TEST_KUBECONFIG=$KUBECONFIG

step "cargo test --workspace"
cargo test --workspace --locked --no-fail-fast "$@"

# The dependency policy (deny.toml): licenses, bans and sources need no
# network. Advisories need the RustSec database from GitHub, so they run in
# tests/reliability.sh (with a copy on the machine as a fallback).
step "cargo deny (licenses, bans, sources)"
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install --locked cargo-deny@0.20.2
fi
cargo deny --locked check licenses bans sources
