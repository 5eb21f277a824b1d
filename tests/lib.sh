# shellcheck shell=bash
# Shared helpers for the shell-level live tests: named checks, counters and the closing line.
# Source it, call `check NAME cmd...` per assertion, end with `finish SUITE`.
PASSED=0 FAILED=0 SKIPPED=0
FAILURES=()

check() { # name cmd...
  local name=$1; shift
  local out t0=$SECONDS
  if out=$("$@" 2>&1); then
    PASSED=$((PASSED + 1)); printf 'ok   %s (%ds)\n' "$name" $((SECONDS - t0))
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf 'FAIL %s\n%s\n' "$name" "$(tail -20 <<<"$out" | sed 's/^/     | /')"
  fi
}

skip() { # name reason
  SKIPPED=$((SKIPPED + 1)); printf 'skip %s: %s\n' "$1" "$2"
}

finish() { # suite
  ((FAILED == 0)) || printf 'failed: %s\n' "${FAILURES[*]}"
  printf '%s: %d passed, %d failed, %d skipped\n' "$1" "$PASSED" "$FAILED" "$SKIPPED"
  ((FAILED == 0))
}

# Retries a command for up to N seconds (a commit or a catch-up takes a moment).
eventually() { # seconds cmd...
  local until=$((SECONDS + $1)); shift
  while ! "$@" >/dev/null 2>&1; do
    ((SECONDS < until)) || { "$@"; return 1; }
    sleep 0.5
  done
}

# The network's helpers, topology and settings in this shell (fabric-network/lib/: what network.sh
# itself is made of); its verbs are run through network.sh.
network_lib() {
  local lib
  lib=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fabric-network/lib" && pwd)
  # shellcheck source=../fabric-network/lib/common.sh
  source "$lib/common.sh"
  # shellcheck source=../fabric-network/lib/topology.sh
  source "$lib/topology.sh"
  # shellcheck source=../fabric-network/lib/fabric.sh
  source "$lib/fabric.sh"
  # shellcheck source=../fabric-network/lib/chaincode.sh
  source "$lib/chaincode.sh"
  # shellcheck source=../fabric-network/lib/gateway.sh
  source "$lib/gateway.sh"
  NET=$NET_DIR/network.sh
}

# For a live suite: the network's helpers in this shell (network_lib), and the network up (started
# once, kept for the next suite). On failure, prints the suite's closing line and exits.
live_network() { # suite
  network_lib
  "$NET" up || { echo "$1: 0 passed, 1 failed, 0 skipped (network.sh up; see the line above)"; exit 1; }
  CFG_BASE=$(fabric_cfg_base)
}

# For the REST suites (after live_network): user_tls ORG-NUMBER USER -> that user's TLS dir;
# gwcurl ORG-NUMBER USER PATH [curl args...]: curl to the org's gateway as that user.
user_tls() { echo "$(org_dir "org$1")/users/$2@$(org_domain "org$1")/tls"; }
gwcurl() {
  local o=$1 t; t=$(user_tls "$1" "$2")
  curl --cacert "$GW_DIR/org$o/tls/ca.crt" --cert "$t/client.crt" --key "$t/client.key" "https://127.0.0.1:$(gw_port "org$o")$3" "${@:4}"
}
