#!/usr/bin/env bash
# Set-up shared by the README's two commands (demo/run.sh, tests/run.sh) and
# CI (.ci/run): installs the Debian packages the tests and the demo need
# (openssh-server for the SSH Git tests, openssl, ...), the Rust components
# the test command uses (rustfmt, clippy), checks for Go and kubectl, and
# builds the control-plane binaries, helm and a test OCI registry (cached by
# version). Idempotent: when everything is there it only checks (about a
# second).
#
# Usage: tests/setup.sh              (or `source tests/setup.sh` to keep PATH)
# Env:   DRIFTLESS_CACHE (control-plane build cache, see tests/cluster/build-binaries.sh)
set -euo pipefail

setup_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
setup_log() { echo "setup: $*" >&2; }

# Go builds the control plane; the machine image ships it in /usr/local/go.
export PATH=/usr/local/go/bin:$HOME/go/bin:$HOME/.cargo/bin:$PATH

setup_apt() {
  local pkg missing=() sudo=()
  for pkg in git openssl pkg-config libssl-dev cmake make gcc g++ \
    openssh-server openssh-client procps curl util-linux chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if ((EUID != 0)); then
    command -v sudo >/dev/null || {
      setup_log "missing Debian packages: ${missing[*]} (run as root or install sudo)"
      return 1
    }
    sudo=(sudo)
  fi
  setup_log "apt-get install ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

setup_tools() {
  local tool
  for tool in go kubectl cargo git; do
    command -v "$tool" >/dev/null || {
      setup_log "$tool is not installed (the machine image ships Go, Rust, git and kubectl)"
      return 1
    }
  done
  if command -v rustup >/dev/null; then
    local installed
    installed=$(rustup component list --installed 2>/dev/null)
    grep -q '^rustfmt' <<<"$installed" || rustup component add rustfmt
    grep -q '^clippy' <<<"$installed" || rustup component add clippy
  fi
}

# The Go-built binaries, cached by version: the control plane, helm (pinned,
# what the controller runs) and an OCI registry for chart tests, kustomize
# (the version kubectl embeds: the reference for `driftless edit set image`),
# go-jsonnet (the reference the Jsonnet renderer is compared with).
# Each prints its progress on stderr; the paths they print are not needed.
setup_go_binaries() {
  "$setup_dir/cluster/build-binaries.sh" >/dev/null
  "$setup_dir/cluster/build-helm.sh" >/dev/null
  "$setup_dir/cluster/build-kustomize.sh" >/dev/null
  "$setup_dir/cluster/build-jsonnet.sh" >/dev/null
}

# With DRIFTLESS_SETUP_GO=background the Go builds run behind the caller's
# cargo build (on a fresh machine each leaves cores idle the other can use);
# the caller then runs setup_wait_go before it needs them.
setup_go_log=${DRIFTLESS_CACHE:-$HOME/.cache/driftless}/setup-go-builds.$$.log
setup_go_pid=
setup_wait_go() {
  [[ -n $setup_go_pid ]] || return 0
  local status=0
  wait "$setup_go_pid" || status=$?
  setup_go_pid=
  if ((status != 0)); then
    cat "$setup_go_log" >&2
    setup_log "the Go builds failed (log above: $setup_go_log)"
    return 1
  fi
  grep -v '^$' "$setup_go_log" | tail -n 20 >&2 || true
  rm -f "$setup_go_log"
  setup_log "Go-built binaries ready"
}

setup_apt
setup_tools
if [[ ${DRIFTLESS_SETUP_GO:-} == background ]]; then
  mkdir -p "$(dirname "$setup_go_log")"
  setup_go_binaries >"$setup_go_log" 2>&1 &
  setup_go_pid=$!
  setup_log "building the Go binaries in the background (log: $setup_go_log)"
else
  setup_go_binaries
fi
