#!/usr/bin/env bash
# Dashboard suite: each org's gateway serves the web dashboard, driven in a real headless Chromium
# (Debian's chromium, by playwright-core from tests/browser) as Org1, Org2 and Org3 User1 at once.
# Each user's browser has its own HOME whose NSS store holds that user's client certificate
# (network.sh p12 + pk12util) and trusts the gateway's CA; a managed Chromium policy selects the
# certificate for the gateways' origins without a prompt. What the browser does and checks is in
# tests/browser/dashboard.mjs; screenshots go to tests/out/dashboard/.
#
# `dashboard_test.sh tamper KEY` alters the stored object KEY (the browser run calls it to turn a
# verify badge red).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=lib.sh
source tests/lib.sh

if [[ ${1:-} == tamper ]]; then
  network_lib
  TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
  store_get "$2" "$TMP/obj" && flip_byte "$TMP/obj" && store_put "$2" "$TMP/obj" >/dev/null
  exit
fi

TMP=$(mktemp -d)
POLICY_DIR=/etc/chromium/policies/managed
POLICY=$POLICY_DIR/svcflow-dashboard-test.json
cleanup() { rm -rf "$TMP"; rm -f "$POLICY"; }
trap cleanup EXIT

live_network dashboard
OUT_DIR=$ROOT/tests/out/dashboard
rm -rf "$OUT_DIR" && mkdir -p "$OUT_DIR"

tools() {
  local t missing=()
  for t in chromium certutil pk12util node npm openssl; do command -v "$t" >/dev/null || missing+=("$t"); done
  ((${#missing[@]} == 0)) || { echo "missing: ${missing[*]} (run scripts/install-deps)"; return 1; }
}
check "chromium, NSS tools and node are installed" tools

# playwright-core only (no browser download), installed from the lock file by scripts/install-deps.
browser_deps() {
  # The version the lock file pins is the one installed.
  local want have
  want=$(jq -r '.packages["node_modules/playwright-core"].version' tests/browser/package-lock.json 2>/dev/null)
  have=$(jq -r .version tests/browser/node_modules/playwright-core/package.json 2>/dev/null)
  [[ -n $want && $want == "$have" ]] && return 0
  echo "tests/browser/node_modules is missing or stale: run scripts/install-deps"
  return 1
}
check "the browser driver's packages (tests/browser)" browser_deps

# One browser home per user: an NSS store with the user's PKCS#12 and the gateway's CA.
nss_home() { # org-number
  local o=$1 home=$TMP/home$1 p12
  mkdir -p "$home/.pki/nssdb"
  certutil -N -d "sql:$home/.pki/nssdb" --empty-password || return 1
  p12=$(SVCFLOW_P12_PASSWORD=dashboard-test "$NET" p12 "org$o" User1 "$TMP/user$o.p12") || return 1
  pk12util -i "$p12" -d "sql:$home/.pki/nssdb" -W dashboard-test >/dev/null || return 1
  certutil -A -d "sql:$home/.pki/nssdb" -n "svcflow gateway CA org$o" -t "C,," -i "$GW_DIR/org$o/tls/ca.crt" || return 1
  certutil -L -d "sql:$home/.pki/nssdb" | grep -q "User1@" || { echo "the user's certificate is not in $home's NSS store"; return 1; }
}
for o in 1 2 3; do check "Org$o User1's browser home: PKCS#12 from network.sh p12 imported, gateway CA trusted" nss_home "$o"; done

# The policy names each gateway's origin; filter {} takes the one certificate the home holds.
policy() {
  mkdir -p "$POLICY_DIR" || return 1
  local o patterns=()
  for o in 1 2 3; do patterns+=("\"{\\\"pattern\\\":\\\"https://127.0.0.1:$(gw_port "org$o")\\\",\\\"filter\\\":{}}\""); done
  (IFS=,; printf '{"AutoSelectCertificateForUrls": [%s]}\n' "${patterns[*]}") >"$POLICY"
  jq -e '.AutoSelectCertificateForUrls | length == 3' "$POLICY" >/dev/null
}
check "a managed Chromium policy selects the certificate for the three gateways" policy

# The page loads without a certificate too (its calls are then refused, on the page).
served() {
  local o base
  for o in 1 2 3; do
    base=https://127.0.0.1:$(gw_port "org$o")
    curl -sSf --cacert "$GW_DIR/org$o/tls/ca.crt" "$base/" | grep -q "/ui/app.js" || { echo "$base/ has no dashboard"; return 1; }
    curl -sSf --cacert "$GW_DIR/org$o/tls/ca.crt" -o /dev/null "$base/ui/app.js" || return 1
  done
}
check "each gateway serves the dashboard page and its script, no certificate needed" served

# The event stream answers at once, before any event (the peer's own stream waits for one).
stream_opens() {
  local t; t=$(user_tls 2 User1)
  timeout 3 curl -sN --cacert "$GW_DIR/org2/tls/ca.crt" --cert "$t/client.crt" --key "$t/client.key" \
    "https://127.0.0.1:$(gw_port org2)/v1/events?project=no-such-project" -o "$TMP/stream"
  grep -q '^: svcflow events' "$TMP/stream" || { echo "nothing within 3 s: $(head -c 200 "$TMP/stream")"; return 1; }
}
check "GET /v1/events answers within 3 s with no event to send" stream_opens

# Browsers resume TLS sessions on their next connections; a resumed session must still carry the
# client certificate (TLS 1.2 session id and TLS 1.3 ticket alike).
resumed() { # tls-version
  local t; t=$(user_tls 1 User1)
  local o=(-connect "127.0.0.1:$(gw_port org1)" -CAfile "$GW_DIR/org1/tls/ca.crt" -cert "$t/client.crt" -key "$t/client.key" "$1" -ign_eof)
  printf 'GET /v1/whoami HTTP/1.0\r\n\r\n' | openssl s_client "${o[@]}" -sess_out "$TMP/session" >/dev/null 2>&1
  printf 'GET /v1/whoami HTTP/1.0\r\n\r\n' | openssl s_client "${o[@]}" -sess_in "$TMP/session" >"$TMP/resumed" 2>&1
  grep -q '^Reused' "$TMP/resumed" || { grep -E '^(New|Reused)|alert' "$TMP/resumed"; return 1; }
  grep -q '"user":"User1@org1' "$TMP/resumed" || { tail -5 "$TMP/resumed"; return 1; }
}
check "a resumed TLS 1.2 session keeps the caller's identity" resumed -tls1_2
check "a resumed TLS 1.3 session keeps the caller's identity" resumed -tls1_3

# A 3 MiB file: several sealed chunks and progress events on the way up.
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$TMP/upload.bin"

run_browser() {
  GW1=https://127.0.0.1:$(gw_port org1) GW2=https://127.0.0.1:$(gw_port org2) GW3=https://127.0.0.1:$(gw_port org3) \
    HOME1=$TMP/home1 HOME2=$TMP/home2 HOME3=$TMP/home3 OUT=$OUT_DIR PROJECT="dash-$(date +%s)-$RANDOM" \
    UPLOAD=$TMP/upload.bin TAMPER="bash $ROOT/tests/dashboard_test.sh tamper" node tests/browser/dashboard.mjs
}
echo "--- in the browser (tests/browser/dashboard.mjs)"
run_browser 2>&1 | tee "$TMP/browser.log" | grep -v '^#counts'
read -r bp bf < <(sed -n 's/^#counts \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$TMP/browser.log")
if [[ -z ${bp:-} ]]; then
  FAILED=$((FAILED + 1)); FAILURES+=("the browser run ended without its counts")
else
  PASSED=$((PASSED + bp)); FAILED=$((FAILED + bf))
  ((bf == 0)) || FAILURES+=("$bf browser checks (above)")
fi
shots() { local p; for p in projects project phase phase-refused phase-live-event phase-verify-failed; do [[ -s $OUT_DIR/$p.png ]] || { echo "no $p.png"; return 1; }; done; }
check "screenshots of every page written" shots
echo "screenshots: $OUT_DIR"

finish dashboard
