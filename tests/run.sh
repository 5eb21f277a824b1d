#!/usr/bin/env bash
# The one test command (`make test`): unit tests, then the live suites against a real Ceph RGW and
# a real Fabric network, each started here and stopped at the end. Prints each suite's
# "N passed, N failed" line and a total; exits non-zero if anything failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
NET=fabric-network/network.sh
CEPH=fabric-network/ceph.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
failed=()
OUT=$(mktemp)   # every suite's output, for the closing count

cleanup() {
  "$NET" down >/dev/null 2>&1 || true
  if [[ -x $CEPH ]]; then "$CEPH" down >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

banner() { printf '\n=== %s\n' "$*"; }

# --- Off-chain store: a real RGW for the storage suite -----------------------------------------
if [[ -x $CEPH ]]; then
  banner "Ceph RGW (fabric-network/ceph.sh up)"
  if "$CEPH" up; then
    eval "$("$CEPH" env)"
  else
    failed+=("ceph.sh up")
  fi
fi

# --- Shell: shellcheck (.shellcheckrc) over every script -----------------------------------------
banner "shellcheck (fabric-network, tests, .ci, scripts)"
if ! command -v shellcheck >/dev/null; then
  echo "shellcheck is not installed: run scripts/install-deps"; failed+=("shellcheck")
elif ! shellcheck fabric-network/*.sh fabric-network/lib/*.sh fabric-network/builders/ccaas/bin/* tests/*.sh .ci/run scripts/install-deps; then
  echo "shellcheck finds the problems above: fix them"; failed+=("shellcheck")
fi

# --- Rust: formatting, unit tests and the storage suite (against the RGW above) ----------------
if cargo fmt --version >/dev/null 2>&1; then
  banner "cargo fmt --check (rustfmt.toml)"
  cargo fmt --all --check >/dev/null || { echo "cargo fmt --all would change files: run it"; failed+=("cargo fmt"); }
fi
# --release: the live suites run release binaries, so the tests share their compiled dependencies
# (one build of the tree instead of two on a cold machine), and 1 GiB round trips run at speed.
banner "cargo clippy (workspace lints, warnings are errors)"
cargo clippy --release --workspace --all-targets --locked -- -D warnings 2>&1 | tail -30
((PIPESTATUS[0] == 0)) || failed+=("cargo clippy")
banner "cargo doc (doc links point at real items)"
RUSTDOCFLAGS="-D warnings" cargo doc --release --workspace --no-deps --locked 2>&1 | tail -20
((PIPESTATUS[0] == 0)) || failed+=("cargo doc")
banner "cargo test --workspace --release"
cargo test --workspace --release --locked 2>&1 | tee -a "$OUT"
((PIPESTATUS[0] == 0)) || failed+=("cargo test")

# --- Live Fabric suites ------------------------------------------------------------------------
banner "Fabric $(sed -n 's/^FABRIC_VERSION=//p' fabric-network/lib/fabric.sh) binaries (network.sh install)"
# The network suite ends with `down`, so it runs last.
LIVE_SUITES=(chaincode gateway storage dashboard membership lateorg schema fault network upgrade)
if "$NET" install; then
  for suite in "${LIVE_SUITES[@]}"; do
    banner "$suite suite (tests/${suite}_test.sh)"
    bash "tests/${suite}_test.sh" | tee -a "$OUT"
    ((PIPESTATUS[0] == 0)) || failed+=("$suite suite")
  done
else
  # Without Fabric the live suites cannot run: that is a failure, never a skip.
  echo "Fabric could not be installed (the line above says why): the ${LIVE_SUITES[*]} suites did not run"
  failed+=("network.sh install")
fi

banner "summary"
# One closing count over everything: cargo's "test result" lines and the suites' own lines.
totals=$(awk '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;/) p += $i; if ($(i+1) ~ /^failed;/) f += $i; if ($(i+1) ~ /^ignored;/) s += $i } }
  /^[a-z]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { p += $2; f += $4; s += $6 }
  END { printf "%d passed, %d failed, %d skipped", p, f, s }' "$OUT")
rm -f "$OUT"
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}"
  echo "total: $totals"
  exit 1
fi
echo "total: $totals"
