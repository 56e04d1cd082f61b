#!/usr/bin/env bash
# The reliability and security suites (issue 18), against one real local
# control plane (started here unless DRIFTLESS_TEST_KUBECONFIG names one):
#
#   1. bad input: crates/controller/tests/bad_input.rs (every case for
#      Application and for Flux Kustomization, also the ones still pending a
#      fix) and webhook_hardening.rs;
#   2. faults: crates/controller/tests/faults.rs (in-process controller,
#      also the pending ones, and a field manager fighting self-heal),
#      faults_control_plane.rs (kube-apiserver and etcd SIGKILLed and
#      restarted, on a private control plane it starts itself) and
#      crates/cli/tests/process_faults.rs (real `driftless controller`
#      processes killed with SIGKILL);
#   3. security: deploy_security.rs (the shipped install's security
#      context and RBAC), cargo deny (advisories, licenses, bans, sources)
#      and bench/fuzz.sh for FUZZ_SECONDS (default 30) per target (cargo
#      fuzz needs nightly, so it is not part of tests/run.sh).
#
# Ends with one line:
#   reliability: <passed>/<tried> bad inputs, <survived>/<injected> faults, <lost> lost, <wrong> wrongly changed
# and exits non-zero when anything failed, was lost or changed, or when
# cargo deny or a fuzz target failed.
#
# Usage: tests/reliability.sh
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
step() { printf '\n==> %s\n' "$*" >&2; }
out=$(mktemp -d)
failed=0

if [[ -z ${DRIFTLESS_TEST_KUBECONFIG:-} ]]; then
  name=reliability-$$
  step "starting a local control plane ($name)"
  cleanup() { tests/cluster/ctl.sh down "$name" >/dev/null 2>&1 || true; }
  trap cleanup EXIT
  eval "$(tests/cluster/ctl.sh up "$name")" || exit 1
  export DRIFTLESS_TEST_KUBECONFIG=$KUBECONFIG
fi

step "bad input (bad_input.rs, webhook_hardening.rs)"
cargo test --locked -p driftless-controller --test bad_input -- --include-ignored --nocapture \
  >"$out/bad_input.log" 2>&1 || failed=1
cargo test --locked -p driftless-controller --test webhook_hardening -- --nocapture \
  >"$out/webhook.log" 2>&1 || failed=1
grep -a -E '^bad-input |^bad inputs( \(Kustomization\))?:|^webhook flood:|^test .* \.\.\. ' "$out/bad_input.log" "$out/webhook.log" >&2
bad_passed=$(grep -a -c -E '^bad-input [^:]+: passed' "$out/bad_input.log")
bad_tried=$(grep -a -c -E '^bad-input [^:]+: (passed|FAILED)' "$out/bad_input.log")
hook_passed=$(grep -a -c -E '^test .* \.\.\. ok$' "$out/webhook.log")
hook_tried=$(grep -a -c -E '^test .* \.\.\. (ok|FAILED)$' "$out/webhook.log")
passed=$((bad_passed + hook_passed))
tried=$((bad_tried + hook_tried))
lost=$(grep -a -o -E 'ConfigMap [^ ]+ was deleted' "$out/bad_input.log" | wc -l)
wrong=$(grep -a -o -E 'ConfigMap [^ ]+ was changed' "$out/bad_input.log" | wc -l)

step "faults (faults.rs, faults_control_plane.rs, process_faults.rs)"
cargo test --locked -p driftless-controller --test faults -- --include-ignored --nocapture \
  >"$out/faults.log" 2>&1 || failed=1
cargo test --locked -p driftless-controller --test faults_control_plane -- --nocapture \
  >>"$out/faults.log" 2>&1 || failed=1
cargo test --locked -p driftless-cli --test process_faults -- --nocapture \
  >>"$out/faults.log" 2>&1 || failed=1
grep -a -E '^fault |^fighting actor:|^test .* \.\.\. ' "$out/faults.log" >&2
injected=$(grep -a -c -E '^fault [^:]+: injected' "$out/faults.log")
survived=$(grep -a -c -E '^fault [^:]+: survived' "$out/faults.log")
# A fault test that failed before injecting still counts as one tried.
failed_early=$(grep -a -E '^test .* \.\.\. FAILED$' "$out/faults.log" | wc -l)
((failed_early > injected - survived)) && injected=$((survived + failed_early))
lost=$((lost + $(grep -a -c 'LOST:' "$out/faults.log")))

step "deployment security (deploy_security.rs)"
cargo test --locked -p driftless-controller --test deploy_security >"$out/deploy.log" 2>&1 || failed=1
grep -a -E '^test .* \.\.\. ' "$out/deploy.log" >&2

step "cargo deny"
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install --locked cargo-deny >&2 || echo "cargo deny: blocked: cargo install --locked cargo-deny failed" >&2
fi
if cargo deny --version >/dev/null 2>&1; then
  cargo deny --locked check licenses bans sources >&2 || failed=1
  # The advisory database is a Git repository on GitHub; use a copy already
  # on this machine when the network cannot reach it.
  if ls -d "${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/advisory-db-* >/dev/null 2>&1; then
    cargo deny --locked check advisories >&2 2>"$out/advisories.log" ||
      cargo deny --offline check advisories >&2 || failed=1
  else
    cargo deny --locked check advisories >&2 ||
      echo "cargo deny advisories: blocked: the advisory database could not be fetched" >&2
  fi
else
  failed=1
fi

step "fuzz (bench/fuzz.sh, ${FUZZ_SECONDS:=30}s per target)"
FUZZ_SECONDS=$FUZZ_SECONDS bench/fuzz.sh | tee "$out/fuzz.log" >&2
fuzz=${PIPESTATUS[0]}
((fuzz == 1)) && failed=1

((passed < tried || survived < injected || lost > 0 || wrong > 0)) && failed=1
echo "reliability: $passed/$tried bad inputs, $survived/$injected faults, $lost lost, $wrong wrongly changed"
exit "$failed"
