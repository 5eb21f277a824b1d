#!/usr/bin/env bash
# Live test of the REST gateways (issue 5) over real HTTPS with client certificates, against the
# real Fabric network and the store the gateways use (Ceph RGW when it runs, else the fs store).
# The division scenario through REST: P1 {Org1, Org2}, P2 {Org2, Org3} (managed by Org1, which is
# not in it), P3 {Org1's User1 only}; outsiders refused; a tampered object refused; bad input
# answered with a 4xx JSON body, never a 5xx; a gateway killed mid-upload leaves no anchor without
# its object. Prints "gateway: N passed, N failed, N skipped". Its own project id: reruns are fine.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network gateway
P=gw$(date +%s)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; jobs -p | xargs -r kill 2>/dev/null' EXIT

port() { gw_port "org$1"; }
V=/v1/projects/$P

# --- authentication -------------------------------------------------------------------------------
no_cert() {
  local got; got=$(curl -sS -o "$TMP/body" -w '%{http_code}' --cacert "$GW_DIR/org1/tls/ca.crt" "https://127.0.0.1:$(port 1)/v1/whoami")
  { [[ $got == 401 ]] && jq -e '.code == "unauthenticated"' "$TMP/body" >/dev/null; } || { echo "$got $(cat "$TMP/body")"; return 1; }
}
# A client certificate of Org2 presented to Org1's gateway: a CA Org1 does not trust.
other_ca() {
  local t; t=$(user_tls 2 User1)
  local got; got=$(curl -sS -o "$TMP/body" -w '%{http_code}' --cacert "$GW_DIR/org1/tls/ca.crt" --cert "$t/client.crt" --key "$t/client.key" "https://127.0.0.1:$(port 1)/v1/whoami")
  { [[ $got == 401 ]] && jq -e '.message | test("refused")' "$TMP/body" >/dev/null; } || { echo "$got $(cat "$TMP/body")"; return 1; }
}
# User1's key in a certificate from Org1's own TLS CA that expired in 2020.
expired() {
  local ca d=$TMP/expired; ca=$(org_dir org1)/tlsca; mkdir -p "$d"; : >"$d/index"; echo 01 >"$d/serial"
  printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index\nserial=%s/serial\nnew_certs_dir=%s\ndefault_md=sha256\npolicy=p\ncopy_extensions=none\n[p]\ncommonName=supplied\n' "$d" "$d" "$d" >"$d/ca.cnf"
  { openssl req -new -key "$(user_tls 1 User1)/client.key" -subj "/CN=User1@org1.svcflow.local" -out "$d/csr" 2>/dev/null &&
    openssl ca -batch -config "$d/ca.cnf" -cert "$ca"/tlsca.*-cert.pem -keyfile "$ca/priv_sk" -in "$d/csr" \
      -startdate 20200101000000Z -enddate 20200201000000Z -notext -out "$d/crt" 2>/dev/null; } || { echo "could not make the expired cert"; return 1; }
  local got; got=$(curl -sS -o "$TMP/body" -w '%{http_code}' --cacert "$GW_DIR/org1/tls/ca.crt" --cert "$d/crt" --key "$(user_tls 1 User1)/client.key" "https://127.0.0.1:$(port 1)/v1/whoami")
  { [[ $got == 401 ]] && jq -e '.message | test("expired")' "$TMP/body" >/dev/null; } || { echo "$got $(cat "$TMP/body")"; return 1; }
}
check "no client certificate → 401 JSON" no_cert
check "a certificate from another org's CA → 401" other_ca
check "an expired certificate from the org's CA → 401" expired
check "whoami as Org1 User1" expect 200 1 User1 GET /v1/whoami
check "whoami names the caller's own identity" body_has '.user == "User1@org1.svcflow.local" and .identity.msp_id == "Org1MSP"'
check "whoami as Org1 User2 is User2 (signed as the caller)" expect 200 1 User2 GET /v1/whoami
check "  … with User2's identity id" body_has '.identity.subject | test("User2@org1")'

# --- callers by their whole certificate; revoked certificates (issue 22) --------------------------
# Org1's gateway restarted trusting a second CA besides Org1's TLS CA, with a CRL (made with
# openssl from Org1's TLS CA key) revoking User2's client certificate, and one more origin
# allowed. Admin's CN in a certificate of the second CA stands for no one: the wallet maps the
# whole certificate (its SHA-256), never the CN.
ORG1_TLSCA=$(compgen -G "$(org_dir org1)/tlsca/tlsca.*-cert.pem" | head -1)
ca_cnf() { # dir -> an `openssl ca` config keeping its database there
  : >"$1/index"
  printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index\ndefault_md=sha256\ndefault_crl_days=2\n' "$1" >"$1/ca.cnf"
}
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
second_ca() {
  local d=$TMP/ca2; mkdir -p "$d"
  if ! { ec_key "$d/ca.key" && ec_key "$d/admin.key" &&
    openssl req -x509 -new -key "$d/ca.key" -subj /CN=tlsca.second.test -days 2 -out "$d/ca.pem" 2>/dev/null &&
    openssl req -new -key "$d/admin.key" -subj /CN=Admin@org1.svcflow.local -out "$d/admin.csr" 2>/dev/null &&
    openssl x509 -req -in "$d/admin.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial 7 -days 1 -out "$d/admin.crt" 2>/dev/null &&
    ca_cnf "$d" && openssl ca -gencrl -config "$d/ca.cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" -out "$d/crl.pem" 2>/dev/null; }; then
    echo "openssl could not make the second CA"; return 1
  fi
}
check "a second CA issues a certificate with Org1 Admin's CN" second_ca
revoke_user2() {
  local d=$TMP/crl; mkdir -p "$d"; ca_cnf "$d"
  local ca=(-config "$d/ca.cnf" -cert "$ORG1_TLSCA" -keyfile "$(org_dir org1)/tlsca/priv_sk")
  if ! { openssl ca "${ca[@]}" -revoke "$(user_tls 1 User2)/client.crt" 2>"$d/err" && openssl ca "${ca[@]}" -gencrl -out "$d/crl.pem" 2>>"$d/err"; }; then
    cat "$d/err"; return 1
  fi
  openssl crl -in "$d/crl.pem" -noout -text | grep -qi "$(openssl x509 -in "$(user_tls 1 User2)/client.crt" -noout -serial | cut -d= -f2)" ||
    { echo "User2's serial is not in the CRL"; return 1; }
}
check "a CRL of Org1's TLS CA revokes User2's client certificate" revoke_user2
ALLOWED=https://ops.svcflow.test
hardened() {
  SVCFLOW_GW_CLIENT_CA="$ORG1_TLSCA,$TMP/ca2/ca.pem" SVCFLOW_GW_CLIENT_CRL="$TMP/crl/crl.pem" SVCFLOW_GW_ALLOWED_ORIGINS=$ALLOWED \
    gw_start org1 force && gw_wait_healthy org1
}
check "restart Org1's gateway trusting both CAs, with the CRL and an allowed origin" hardened
as_admin_of_ca2() {
  local got; got=$(curl -sS -o "$TMP/body" -w '%{http_code}' --cacert "$GW_DIR/org1/tls/ca.crt" --cert "$TMP/ca2/admin.crt" --key "$TMP/ca2/admin.key" "https://127.0.0.1:$(port 1)/v1/whoami")
  { [[ $got == 403 ]] && jq -e '.code == "forbidden" and (.message | test("is no identity"))' "$TMP/body" >/dev/null; } || { echo "$got $(cat "$TMP/body")"; return 1; }
}
check "Admin's CN from the second trusted CA → 403, acting as no one" as_admin_of_ca2
check "  … while Org1's real Admin certificate is Admin" expect 200 1 Admin GET /v1/whoami
check "  … Admin@org1" body_has '.user == "Admin@org1.svcflow.local"'
check "revoked User2 → 403" expect 403 1 User2 GET /v1/whoami
check "  … saying revoked" body_has '.code == "forbidden" and (.message | test("revoked"))'
check "  … and may not write either" expect 403 1 User2 POST /v1/projects -d "{\"id\":\"$P-rv\",\"name\":\"x\"}"
check "unrevoked User1 → 200" expect 200 1 User1 GET /v1/whoami
check "a cross-site POST from an allowed origin (server.allowed_origins) → 201" expect 201 1 User1 POST /v1/projects \
  -H "Origin: $ALLOWED" -H 'Sec-Fetch-Site: cross-site' -d "{\"id\":\"$P-ao\",\"name\":\"x\"}"
# Start errors name the setting and the file: a CRL of a CA the gateway does not trust, a wallet key
# others may read. The gateway stops before it would listen.
start_fails() { # pattern env... -> the gateway refuses to start, saying pattern
  local want=$1 out; shift
  out=$(env "$@" timeout 20 "$GW_BIN" --config "$GW_DIR/org1/gateway.toml" 2>&1) && { echo "it started"; return 1; }
  grep -q -- "$want" <<<"$out" || { echo "$out" | tail -3; return 1; }
}
check "a CRL not signed by a client_ca → no start, naming server.client_crl" start_fails "server.client_crl $TMP/ca2/crl.pem" SVCFLOW_GW_CLIENT_CRL="$TMP/ca2/crl.pem"
lax_wallet() {
  rm -rf "$TMP/wallet" && cp -r "$(org_dir org1)/users" "$TMP/wallet" || return 1
  local key; key=$(compgen -G "$TMP/wallet/User1@*/msp/keystore/*" | head -1)
  chmod 644 "$key" && start_fails "fabric.wallet $key: is open to others (mode 644); chmod 600 it" SVCFLOW_GW_WALLET="$TMP/wallet"
}
check "a wallet key others may read → no start, naming the file" lax_wallet
check "the network's wallet keys are all 0600" bash -c "! find '$(org_dir org1)/users' '$(org_dir org2)/users' '$(org_dir org3)/users' -path '*/msp/keystore/*' -type f ! -perm 600 | grep -q ."
restore1() { gw_start org1 force && gw_wait_healthy org1; }
check "restart Org1's gateway as configured" restore1

# --- projects and phases ----------------------------------------------------------------------
check "create project $P (Org1 User1) → 201 with tx id" expect 201 1 User1 POST /v1/projects -d "{\"id\":\"$P\",\"name\":\"Bridge\"}"
created_block=$(sed -n 's/^x-block-number: \([0-9]*\).*/\1/Ip' "$TMP/headers")
check "add P1 {Org1, Org2}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P1\",\"name\":\"design\",\"participants\":$(participants 1 2)}"
check "  … the gateway generated and set its data key" header_is x-phase-key set
check "  … and named the transaction" header_is x-tx-id '[0-9a-f]\{64\}'
check "add P2 {Org2, Org3} (Org1 manages, is not in it)" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P2\",\"name\":\"build\",\"participants\":$(participants 2 3)}"
check "  … its key waits for a participant" header_is x-phase-key pending
req 1 User1 GET /v1/whoami >/dev/null; u1=$(jq -r .identity.id "$TMP/body")
check "add P3 {Org1 User1 only}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P3\",\"name\":\"audit\",\"participants\":[{\"msp_id\":\"Org1MSP\",\"identity\":\"$u1\"}]}"
check "list phases in order" expect 200 2 User1 GET "$V/phases"
check "  … P1 P2 P3" body_has '[.items[].id] == ["P1","P2","P3"]'
check "  … at positions 0 1 2" body_has '[.items[].position] == [0,1,2]'
# A move is a real order (issue 20): P3 to place 1 puts it there and shifts P2 down; REST and the
# peer CLI show the same places.
rest_order_is() { # jq array of [id, position]
  { [[ $(req 3 User1 GET "$V/phases") == 200 ]] && jq -e "[.items[] | [.id, .position]] == $1" "$TMP/body" >/dev/null; } ||
    { echo "REST: $(head -c 400 "$TMP/body")"; return 1; }
}
cli_order_is() { # jq array of [id, position]
  local out
  { out=$(q org2 User1 ListPhases "{\"project\":\"$P\"}") && jq -e "[.[] | [.id, .position]] == $1" <<<"$out" >/dev/null; } ||
    { echo "CLI: $out"; return 1; }
}
check "move P3 to position 1" expect 200 1 User1 PATCH "$V/phases/P3" -d '{"position":1}'
check "  … answered at position 1" body_has '.position == 1'
check "  … the list is P1 P3 P2 at 0 1 2" rest_order_is '[["P1",0],["P3",1],["P2",2]]'
check "  … and the peer CLI agrees" cli_order_is '[["P1",0],["P3",1],["P2",2]]'
check "a position past the end → 400 naming the range" expect 400 1 User1 PATCH "$V/phases/P3" -d '{"position":3}'
check "  … 0 to 2" body_has '.message | test("0 to 2")'
check "move P3 back to position 2" expect 200 1 User1 PATCH "$V/phases/P3" -d '{"position":2}'
check "activate P1" expect 200 1 User1 POST "$V/phases/P1/activate"
check "Org2 may not manage Org1's project → 403" expect 403 2 User1 POST "$V/phases/P2/activate"
check "update P2's name" expect 200 1 User1 PATCH "$V/phases/P2" -d '{"name":"build it"}'
check "get project (Org3 sees public data)" expect 200 3 User1 GET "$V"

# --- cross-site requests (issue 22) -------------------------------------------------------------
# What a page of another origin can make a browser send (it names itself in Origin and
# Sec-Fetch-Site, and can send bodies only as text/plain or forms without asking): refused before
# anything happens. Same-origin requests (the dashboard's) and header-less ones (curl) go on.
EVIL=(-H 'Origin: https://evil.example')
p2_status() { req 1 User1 GET "$V/phases/P2" >/dev/null; jq -r .status "$TMP/body"; }
p2_before=$(p2_status)
check "a project POSTed from another origin → 403" expect 403 1 User1 POST /v1/projects "${EVIL[@]}" -d "{\"id\":\"$P-xo\",\"name\":\"x\"}"
check "  … forbidden, naming the origin" body_has '.code == "forbidden" and (.message | test("evil.example"))'
check "  … and not created" expect 404 1 User1 GET "/v1/projects/$P-xo"
check "a project POSTed with Sec-Fetch-Site: cross-site → 403" expect 403 1 User1 POST /v1/projects -H 'Sec-Fetch-Site: cross-site' -d "{\"id\":\"$P-xs\",\"name\":\"x\"}"
check "  … and not created" expect 404 1 User1 GET "/v1/projects/$P-xs"
check "a phase with participants of the page's choosing (Origin: null) → 403" expect 403 1 User1 POST "$V/phases" -H 'Origin: null' \
  -d "{\"id\":\"PX\",\"name\":\"x\",\"participants\":$(participants 3)}"
check "  … and not added" expect 404 1 User1 GET "$V/phases/PX"
check "an activate from another origin → 403" expect 403 1 User1 POST "$V/phases/P2/activate" "${EVIL[@]}"
check "a close from another site (Sec-Fetch-Site: same-site) → 403" expect 403 1 User1 POST "$V/phases/P2/close" -H 'Sec-Fetch-Site: same-site'
p2_same() { [[ $(p2_status) == "$p2_before" ]] || { echo "P2 went from $p2_before to $(p2_status)"; return 1; }; }
check "  … P2's status unchanged" p2_same
check "an upload from another origin → 403" expect 403 1 User1 POST "$V/phases/P1/files?name=xo.txt&id=xo" "${EVIL[@]}" --data-binary 'x'
check "  … and not stored" expect 404 1 User1 GET "$V/phases/P1/files/xo"
check "a record PUT from another origin → 403" expect 403 1 User1 PUT "$V/phases/P1/records/xo" "${EVIL[@]}" -d '{"a":1}'
check "a migration started from another origin → 403" expect 403 1 User1 POST "$V/phases/P1/migration" "${EVIL[@]}"
check "a reseal from another origin → 403" expect 403 1 User1 POST "$V/phases/P1/reseal" "${EVIL[@]}"
check "JSON sent as text/plain → 415" expect 415 1 User1 POST /v1/projects -H 'content-type: text/plain' -d "{\"id\":\"$P-tp\",\"name\":\"x\"}"
check "  … unsupported_media_type, naming application/json" body_has '.code == "unsupported_media_type" and (.message | test("application/json"))'
check "  … and not created" expect 404 1 User1 GET "/v1/projects/$P-tp"
check "JSON as a form → 415" expect 415 1 User1 PATCH "$V/phases/P2" -H 'content-type: application/x-www-form-urlencoded' -d '{"name":"form"}'
check "a record as text/plain → 415" expect 415 1 User1 PUT "$V/phases/P1/records/tp" -H 'content-type: text/plain' -d '{"a":1}'
SAME=(-H "Origin: https://127.0.0.1:$(port 1)" -H 'Sec-Fetch-Site: same-origin')
check "a project POSTed from the gateway's own origin (the dashboard) → 201" expect 201 1 User1 POST /v1/projects "${SAME[@]}" -d "{\"id\":\"$P-so\",\"name\":\"x\"}"
check "an upload from the gateway's own origin → 201" expect 201 1 User1 POST "$V/phases/P1/files?name=so.txt&id=so" "${SAME[@]}" --data-binary 'same origin'
check "a project POSTed with neither header (curl) → 201" expect 201 1 User1 POST /v1/projects -d "{\"id\":\"$P-nh\",\"name\":\"x\"}"
check "an upload with neither header (curl) → 201" expect 201 1 User1 POST "$V/phases/P1/files?name=nh.txt&id=nh" --data-binary 'no headers'

# --- records: division ------------------------------------------------------------------------
check "Org1 puts a P1 record → 201" expect 201 1 User1 PUT "$V/phases/P1/records/spec" -d '{"load_t":40}'
check "Org2 updates it → 200, version 2" expect 200 2 User1 PUT "$V/phases/P1/records/spec" -d '{"load_t":45}'
check "  … version 2" body_has '.version == 2'
check "Org1 reads Org2's version" expect 200 1 User1 GET "$V/phases/P1/records/spec"
check "  … the document" body_has '.document.load_t == 45'
check "history has both versions" expect 200 1 User1 GET "$V/phases/P1/records/spec/history"
check "  … two" body_has '.items | length == 2'
check "Org3's gateway refused on P1's records → 403" expect 403 3 User1 GET "$V/phases/P1/records/spec"
check "Org3's gateway refused writing P1 → 403" expect 403 3 User1 PUT "$V/phases/P1/records/x" -d '{"a":1}'
check "Org3 writes P2" expect 201 3 User1 PUT "$V/phases/P2/records/plan" -d '{"steps":3}'
check "Org1 (manager, not in P2) refused on P2 → 403" expect 403 1 User1 GET "$V/phases/P2/records/plan"
check "P3: User1 writes" expect 201 1 User1 PUT "$V/phases/P3/records/note" -d '{"ok":true}'
check "P3: Org1 User2 refused → 403" expect 403 1 User2 GET "$V/phases/P3/records/note"
for i in 1 2 3 4 5; do req 1 User1 PUT "$V/phases/P1/records/r$i" -d "{\"i\":$i}" >/dev/null; done
# Pages come in the order of the records' keyed names (a blinded phase's keys say nothing of the
# ids); the bookmark is the last id of a page, and the pages hold every record once.
check "records paginate: page 1 of 3" expect 200 1 User1 GET "$V/phases/P1/records?page_size=3"
check "  … 3 items and a bookmark, the last of them" body_has '(.items | length == 3) and .bookmark == .items[2].id'
page1=$(jq -c '[.items[].id]' "$TMP/body"); mark=$(jq -r .bookmark "$TMP/body")
check "records paginate: page 2" expect 200 1 User1 GET "$V/phases/P1/records?page_size=3&bookmark=$mark"
check "  … the rest, no bookmark: both pages hold the six once" body_has "(.bookmark == \"\") and (($page1 + [.items[].id]) | sort) == [\"r1\",\"r2\",\"r3\",\"r4\",\"r5\",\"spec\"]"
# 100 records of almost 1 MiB: one list of them would pass Fabric's 100 MiB message limit and the
# gateway's 4 MiB answer limit; pages stop before 3.5 MiB, and the chaincode reads them from the
# peer in small ranges.
check "add PL {Org1, Org2} for large records" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"PL\",\"name\":\"large\",\"participants\":$(participants 1 2)}"
python3 -c 'import json; print(json.dumps({"pad": "x" * (1048576 - 200)}))' >"$TMP/mib.json"
put_large() {
  local i
  for ((i = 1; i <= 100; i++)); do
    gwcurl 2 User1 "$V/phases/PL/records/big$(printf %03d "$i")" -sS -o /dev/null -w '%{http_code}\n' -X PUT --data-binary @"$TMP/mib.json" >>"$TMP/large" &
    ((i % 8 == 0)) && wait
  done
  wait
  [[ $(grep -c '^201$' "$TMP/large") == 100 ]] || { sort "$TMP/large" | uniq -c; return 1; }
}
check "put 100 records of 1 MiB" put_large
list_large() {
  local bookmark="" n=0 pages=0
  while :; do
    [[ $(req 1 User1 GET "$V/phases/PL/records?page_size=100&bookmark=$bookmark") == 200 ]] || { head -c 300 "$TMP/body"; return 1; }
    n=$((n + $(jq '.items | length' "$TMP/body"))); pages=$((pages + 1))
    bookmark=$(jq -r .bookmark "$TMP/body")
    [[ -n $bookmark ]] || break
  done
  ((n == 100 && pages >= 30)) || { echo "$n records in $pages pages"; return 1; }
}
check "list them all: pages under 3.5 MiB, 100 records" list_large

# --- files: division, integrity -----------------------------------------------------------------
head -c 3000000 /dev/urandom >"$TMP/drawing.bin"
sha=$(sha256sum "$TMP/drawing.bin" | cut -d' ' -f1)
check "Org1 uploads a 3 MB file to P1 → 201 with a receipt" expect 201 1 User1 POST "$V/phases/P1/files?name=drawing.bin" \
  -H 'content-type: application/octet-stream' --data-binary @"$TMP/drawing.bin"
fid=$(jq -r .file.id "$TMP/body"); okey=$(jq -r .file.object_key "$TMP/body")
check "  … anchored hash is the file's, receipt has a block" body_has ".file.sha256 == \"$sha\" and .receipt.block_number > 0"
download() { gwcurl "$1" "$2" "$V/phases/$3/files/$4/content" -sS -f -o "$TMP/out"; } # org user phase file -> $TMP/out
same_file() { { download "$@" && [[ $(sha256sum <"$TMP/out" | cut -d' ' -f1) == "$sha" ]]; } || { echo "downloaded bytes differ"; return 1; }; }
check "Org2 downloads the same bytes through its own gateway" same_file 2 User1 P1 "$fid"
check "download headers" expect 200 2 User1 GET "$V/phases/P1/files/$fid/content"
check "  … ETag is the anchored hash" header_is etag "\"$sha\""
check "  … an attachment, never sniffed" bash -c "grep -qi '^content-disposition: attachment; filename=\"drawing.bin\"' '$TMP/headers' && grep -qi '^x-content-type-options: nosniff' '$TMP/headers'"
check "verify answers with the anchor's tx id and block" expect 200 2 User1 GET "$V/phases/P1/files/$fid/verify"
check "  … verified" body_has '.verified == true and (.receipt.tx_id | length == 64) and .receipt.block_number > 0'
check "Org3's gateway refused on P1's file → 403" expect 403 3 User1 GET "$V/phases/P1/files/$fid/content"
check "Org3's gateway refused listing P1's files → 403" expect 403 3 User1 GET "$V/phases/P1/files"
check "Org3 refused uploading to P1 → 403" expect 403 3 User1 POST "$V/phases/P1/files?name=x.txt" --data-binary 'x'
check "Org2 uploads to P2 (its first upload sets P2's key)" expect 201 2 User1 POST "$V/phases/P2/files?name=plan.txt" --data-binary 'the plan'
fid2=$(jq -r .file.id "$TMP/body")
check "Org3 reads Org2's P2 file" expect 200 3 User1 GET "$V/phases/P2/files/$fid2/content"
check "Org1 (manager, not in P2) refused on P2's file → 403" expect 403 1 User1 GET "$V/phases/P2/files/$fid2/content"

# Idempotency-Key: the retry answers with the first anchor and anchors nothing new.
check "upload with Idempotency-Key → 201" expect 201 1 User1 POST "$V/phases/P1/files?name=once.txt" -H 'Idempotency-Key: k-1' --data-binary 'once'
ifid=$(jq -r .file.id "$TMP/body")
check "the same upload retried → 200, same file" expect 200 1 User1 POST "$V/phases/P1/files?name=once.txt" -H 'Idempotency-Key: k-1' --data-binary 'once'
check "  … same id, same tx" body_has ".file.id == \"$ifid\""
check "one anchor for it" expect 200 1 User1 GET "$V/phases/P1/files?page_size=100"
check "  … exactly one once.txt" body_has '[.items[] | select(.name == "once.txt")] | length == 1'

# The stored object altered behind the gateway's back (directly in the store).
tamper() { store_get "$okey" "$TMP/obj" && flip_byte "$TMP/obj" && store_put "$okey" "$TMP/obj"; }
check "alter the stored object directly in the store" tamper
refused_download() {
  local got; got=$(gwcurl 1 User1 "$V/phases/P1/files/$fid/content" -sS -o "$TMP/out" -w '%{http_code}')
  local rc=$?
  # Refused before the first byte (502 JSON), or cut off mid-stream: never a complete 200.
  if [[ $got == 502 ]]; then jq -e '.code == "integrity"' "$TMP/out" >/dev/null || { cat "$TMP/out"; return 1; }; return 0; fi
  { ((rc != 0)) && [[ $(sha256sum <"$TMP/out" | cut -d' ' -f1) != "$sha" ]]; } || { echo "altered object served whole: status $got rc $rc"; return 1; }
}
check "the altered object is refused on download" refused_download
check "verify reports it" expect 200 1 User1 GET "$V/phases/P1/files/$fid/verify"
check "  … not verified" body_has '.verified == false'
# Truncated at a chunk boundary: every chunk left authenticates, only the end is missing. The
# download must still end abnormally (curl sees an error), never as a clean shorter body.
check "Org1 uploads another 3 MB file" expect 201 1 User1 POST "$V/phases/P1/files?name=trunc.bin&id=trunc" --data-binary @"$TMP/drawing.bin"
tkey=$(jq -r .file.object_key "$TMP/body")
truncate_object() { # keep the header and the first two 1 MiB chunks (nonce + ciphertext + tag each)
  store_get "$tkey" "$TMP/tobj" && truncate -s $((25 + 2 * (12 + (1 << 20) + 16))) "$TMP/tobj" && store_put "$tkey" "$TMP/tobj"
}
check "truncate its stored object at a chunk boundary" truncate_object
cut_off() {
  local got rc
  got=$(gwcurl 1 User1 "$V/phases/P1/files/trunc/content" -sS -o "$TMP/out" -w '%{http_code}' 2>"$TMP/err"); rc=$?
  { [[ $got == 200 ]] && ((rc != 0)); } || { echo "status $got, curl exit $rc, $(stat -c %s "$TMP/out") bytes: a clean end"; return 1; }
  (($(stat -c %s "$TMP/out") <= 2 << 20)) || { echo "more than the authenticated chunks were sent"; return 1; }
}
check "  … its download starts (200) and is cut off, never ended cleanly" cut_off
check "  … verify reports it" expect 200 1 User1 GET "$V/phases/P1/files/trunc/verify"
check "  … not verified" body_has '.verified == false'

# --- bad input: 4xx with a JSON body, never 5xx, nothing changed ---------------------------------
check "bad JSON → 400" expect 400 1 User1 POST /v1/projects -d '{"id":'
check "JSON of the wrong shape → 400" expect 400 1 User1 POST /v1/projects -d '{"id":"x y","name":"n"}'
check "unknown field → 400" expect 400 1 User1 POST "$V/phases" -d '{"id":"PX","name":"n","participants":[],"colour":"red"}'
check "path traversal in a file name → 400" expect 400 1 User1 POST "$V/phases/P1/files?name=../../etc/passwd" --data-binary 'x'
check "encoded traversal in a file name → 400" expect 400 1 User1 POST "$V/phases/P1/files?name=..%2F..%2Fetc%2Fpasswd" --data-binary 'x'
check "traversal in a file id → 400" expect 400 1 User1 POST "$V/phases/P1/files?name=a.txt&id=..%2Fx" --data-binary 'x'
check "upload without a name → 400" expect 400 1 User1 POST "$V/phases/P1/files" --data-binary 'x'
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/"/; s/$/"/' >"$TMP/big.json"
check "oversize record (> 1 MiB) → 413" expect 413 1 User1 PUT "$V/phases/P1/records/big" --data-binary @"$TMP/big.json"
check "oversize upload (Content-Length over the limit) → 413" expect 413 1 User1 POST "$V/phases/P1/files?name=huge.bin" \
  -H 'Content-Length: 99999999999999' --data-binary 'x'
check "unknown project → 404" expect 404 1 User1 GET /v1/projects/no-such-project
check "unknown record → 404" expect 404 1 User1 GET "$V/phases/P1/records/nope"
check "unknown file → 404" expect 404 1 User1 GET "$V/phases/P1/files/nope/content"
check "unknown phase → 404" expect 404 1 User1 GET "$V/phases/P9"
check "unknown route → 404" expect 404 1 User1 GET /v1/nothing-here
check "bad page_size → 400" expect 400 1 User1 GET "/v1/projects?page_size=0"
check "nothing changed: still 6 records in P1" expect 200 1 User1 GET "$V/phases/P1/records?page_size=100"
check "  … the same six" body_has '([.items[].id] | sort) == ["r1","r2","r3","r4","r5","spec"]'

# --- events -----------------------------------------------------------------------------------
sse() { gwcurl "$1" "$2" "/v1/events?project=$P" -sS -N --max-time 20 >"$TMP/sse.$1" 2>/dev/null & } # org user -> $TMP/sse.ORG
sse 2 User1; sse 3 User1; sleep 2
req 1 User1 PUT "$V/phases/P1/records/evented" -d '{"e":1}' >/dev/null
evtx=$(jq -r .tx_id "$TMP/body")
req 2 User1 PUT "$V/phases/P2/records/evented2" -d '{"e":2}' >/dev/null
check "Org2's event stream gets P1's RecordPut" eventually 10 grep -q "\"tx_id\":\"$evtx\"" "$TMP/sse.2"
check "Org3's event stream gets P2's RecordPut" eventually 10 grep -q '"record":"evented2"' "$TMP/sse.3"
check "Org3's event stream never shows P1's events" bash -c "! grep -q '\"phase\":\"P1\"' '$TMP/sse.3'"
replay() { # path [curl args...] -> $TMP/replay
  gwcurl 1 User1 "$1" -sS -N --max-time 4 "${@:2}" >"$TMP/replay" 2>/dev/null
  return 0
}
replay_from_block() { replay "/v1/events?project=$P&from_block=$created_block"; grep -q '^event: ProjectCreated' "$TMP/replay" || { head -c 600 "$TMP/replay"; return 1; }; }
check "events replay from a block (?from_block=)" replay_from_block
resume_after() {
  local first; first=$(sed -n 's/^id: //p' "$TMP/replay" | head -1)
  replay "/v1/events?project=$P" -H "Last-Event-ID: $first"
  local next; next=$(sed -n 's/^id: //p' "$TMP/replay" | head -1)
  [[ -n $next && $next != "$first" ]] || { echo "resumed at '$next' after '$first'"; return 1; }
}
check "Last-Event-ID resumes after that event" resume_after

# --- nothing private in a block ------------------------------------------------------------------
# Every org keeps every block, so a transaction's arguments, response and events must carry only
# public facts. Writes with unique markers to P1 {Org1, Org2}, then Org3 fetches every block of
# the channel from the orderer and searches the raw bytes and configtxlator's decoding for them.
M=priv$(date +%s%N)
req 1 User1 PUT "$V/phases/P1/records/$M-rec" -d "{\"marker\":\"$M-doc\"}" >/dev/null
printf '%s-content' "$M" >"$TMP/priv.txt"
req 2 User1 POST "$V/phases/P1/files?name=$M-name.txt&id=$M-fid" --data-binary @"$TMP/priv.txt" >/dev/null
priv_sha=$(jq -r .file.sha256 "$TMP/body"); priv_okey=$(jq -r .file.object_key "$TMP/body")
p1_key=$( (peer_cli_env org1 User1; "$BIN/peer" chaincode query -C "$CHANNEL" -n "$CC_NAME" -c "$(jq -cn --arg p "$P" '{Args:["GetPhaseKey",({project:$p,phase:"P1"}|tojson)]}')" 2>/dev/null) | jq -r .key)
blocks=$TMP/blocks
check "Org3 fetches and decodes every block of the channel" fetch_blocks 0 "$(peer_height peer0.org3 "$CHANNEL")" "$blocks"
check "  … the writes were there to find (the record and file are readable by participants)" bash -c "[[ -n '$priv_sha' && '$priv_sha' != null && -n '$p1_key' && '$p1_key' != null ]]"
key_hex=$(base64 -d <<<"$p1_key" | hex)
# Blocks hold bytes fields as base64 in the decoding and raw in the .pb: both are searched, and the
# key also as hex of the raw blocks.
check "no record id, document, file name, file id, hash, object key or phase key in any block" \
  no_private_bytes "$blocks" "$M-rec" "$M-doc" "$M-name.txt" "$M-fid" "$M-content" "$priv_sha" "$priv_okey" "$p1_key"
raw_hex() { cat "$blocks"/*.pb | hex | grep -qi "$key_hex" && { echo "the raw phase key is in a block"; return 1; }; return 0; }
check "  … nor the phase key's raw bytes" raw_hex
check "  … while the blocks do carry the phase's public facts" bash -c "grep -rlaF -- '\"phase\":\"P1\"' '$blocks' >/dev/null"

# --- meta -------------------------------------------------------------------------------------
check "/healthz" expect 200 1 User1 GET /healthz
fabric_whoami() { curl -sS --cacert "$GW_DIR/org1/tls/ca.crt" "https://127.0.0.1:$(port 1)/metrics" | sed -n 's/^svcflow_fabric_calls_total{function="WhoAmI",outcome="ok"} //p'; }
# Anyone may ask /healthz: its answers come from one probe per server.health_ttl_ms (2 s).
healthz_cached() {
  local before after t0 ms
  before=$(fabric_whoami); t0=$(date +%s%N)
  seq 40 | xargs -P 8 -I{} curl -sS -o /dev/null --cacert "$GW_DIR/org1/tls/ca.crt" "https://127.0.0.1:$(port 1)/healthz"
  ms=$((($(date +%s%N) - t0) / 1000000)); after=$(fabric_whoami)
  # A window shorter than the TTL holds at most two probes (one may fall due inside it).
  ((ms < 2000)) || { echo "40 calls took $ms ms: too slow to tell"; return 1; }
  ((after - before <= 2)) || { echo "40 /healthz calls in $ms ms made $((after - before)) Fabric queries"; return 1; }
}
check "40 concurrent /healthz calls → at most one Fabric query per 2 s" healthz_cached
made_up_method() {
  curl -sS -o /dev/null --cacert "$GW_DIR/org1/tls/ca.crt" -X FROBNICATE1 "https://127.0.0.1:$(port 1)/v1/projects"
  curl -sS -o /dev/null --cacert "$GW_DIR/org1/tls/ca.crt" -X FROBNICATE2 "https://127.0.0.1:$(port 1)/v1/projects"
  local m; m=$(curl -sS --cacert "$GW_DIR/org1/tls/ca.crt" "https://127.0.0.1:$(port 1)/metrics")
  grep -q 'svcflow_http_requests_total{method="other",route="/v1/projects",status="405"}' <<<"$m" || { echo "no method=\"other\""; return 1; }
  ! grep -q 'FROBNICATE' <<<"$m" || { echo "a made-up method is a label"; return 1; }
}
check "/metrics counts made-up methods as method=\"other\"" made_up_method
check "/metrics counts requests" bash -c "curl -sS --cacert '$GW_DIR/org1/tls/ca.crt' https://127.0.0.1:$(port 1)/metrics | grep -q 'svcflow_http_requests_total{method=\"PUT\"'"
check "/openapi.json is OpenAPI 3" bash -c "curl -sS --cacert '$GW_DIR/org1/tls/ca.crt' https://127.0.0.1:$(port 1)/openapi.json | jq -e '.openapi | startswith(\"3.\")'"
check "/docs renders" bash -c "curl -sS --cacert '$GW_DIR/org1/tls/ca.crt' https://127.0.0.1:$(port 1)/docs | grep -q '/v1/projects'"

# --- failover between Org1's peers ------------------------------------------------------------
check "stop peer0.org1" stop_all peer0.org1
check "Org1's gateway still answers (peer1.org1)" expect 200 1 User1 GET "$V/phases/P1/records/spec"
check "Org1's gateway still commits (peer1.org1)" expect 200 1 User1 PUT "$V/phases/P1/records/spec" -d '{"load_t":50}'
check "restart peer0.org1" start_peer peer0.org1

# --- a gateway killed mid-upload ----------------------------------------------------------------
# The journal entry of file "killed" (object names tell nothing of the file: read the entries).
killed_entry() { grep -l '"file":"killed"' "$GW_DIR"/org1/journal/*.json 2>/dev/null; }
killed_upload() {
  head -c $((256 << 20)) /dev/zero >"$TMP/big.bin"
  gwcurl 1 User1 "$V/phases/P1/files?name=big.bin&id=killed" -sS -o /dev/null --limit-rate 20M -X POST --data-binary @"$TMP/big.bin" 2>/dev/null &
  local up=$!
  sleep 3
  kill -KILL "$(cat "$PIDS/gateway.org1.pid")"
  wait "$up"
  killed_entry >/dev/null || { echo "no journal entry for the interrupted upload"; return 1; }
}
check "kill Org1's gateway during a 256 MiB upload" killed_upload
restart_gw() { SVCFLOW_GW_SWEEP_AFTER_MS=1000 gw_start org1 force && gw_wait_healthy org1; }
check "restart it (sweeping after 1 s)" restart_gw
no_killed_entry() { ! killed_entry >/dev/null; }
check "the journal is settled" eventually 30 no_killed_entry
check "no anchor for the interrupted upload" expect 404 1 User1 GET "$V/phases/P1/files/killed"
# Org1's bucket of P1 (where its gateway stored the interrupted upload), from an object it anchored.
p1_bucket=${okey%%/*}
no_parts() {
  s3 GET "$p1_bucket?uploads=" -o "$TMP/uploads" || return 1
  if grep -q '<Upload>' "$TMP/uploads"; then head -c 600 "$TMP/uploads"; return 1; fi
}
lifecycle() {
  s3 GET "$p1_bucket?lifecycle=" -o "$TMP/lc" || return 1
  grep -q '<DaysAfterInitiation>1</DaysAfterInitiation>' "$TMP/lc" || { head -c 600 "$TMP/lc"; return 1; }
}
if on_rgw; then
  check "  … nor any part of its multipart upload left in RGW" no_parts
  check "the bucket aborts any incomplete multipart upload after a day (lifecycle rule)" lifecycle
else
  skip "multipart parts left in RGW" "the gateways use the fs store (network.sh up -s ceph for RGW)"
fi
check "the same id uploads cleanly afterwards" expect 201 1 User1 POST "$V/phases/P1/files?name=big.bin&id=killed" --data-binary 'small now'

# A gateway that died after storing an object but before its anchor: the journal entry names an
# object that exists and has no anchor. The sweep settles each entry from the ledger: an object
# whose transaction was never sent, or is final without naming it, goes; an anchored one stays; one
# whose transaction may still be ordered waits (10 minutes) however old its entry.
req 1 User1 GET "$V/phases/P1/files/$ifid" >/dev/null; anchored_key=$(jq -r .object_key "$TMP/body")
# In the same place as Org1's anchored objects: its bucket of P1 in RGW, P1's directory in fs.
if [[ $anchored_key == svf-* ]]; then at=${anchored_key%%/*}/; else at=$P/P1/; fi
orphan_key="${at}orphan.0123456789abcdef"      # no transaction
final_key="${at}orphan.final0123456789ab"      # a final transaction that anchored something else
waiting_key="${at}orphan.waiting0123456789"    # a transaction in no block (yet)
journal_entry() { # object-key file-id [tx-id [idle]]
  local f="$GW_DIR/org1/journal/${1//\//\~}.json"
  jq -cn --arg k "$1" --arg p "$P" --arg f "$2" --arg t "${3:-}" \
    '{object_key:$k,project:$p,phase:"P1",file:$f,user:"User1@org1.svcflow.local"} + (if $t == "" then {} else {tx_id:$t} end)' >"$f"
  touch -d "${4:-1 hour ago}" "$f"
}
plant() { local k; for k in "$@"; do echo "stored, never anchored" >"$TMP/orphan" && store_put "$k" "$TMP/orphan" && store_has "$k" || return 1; done; }
check "plant objects in the store with no anchor" plant "$orphan_key" "$final_key" "$waiting_key"
entries() {
  journal_entry "$orphan_key" orphan && journal_entry "$anchored_key" "$ifid" && journal_entry "$final_key" final "$evtx" &&
    journal_entry "$waiting_key" waiting "$(printf 'f%.0s' {1..64})" '2 minutes ago'
}
check "  … and journal entries for them and for an anchored object" entries
gone() { ! store_has "$1"; }
entry_gone() { [[ ! -e "$GW_DIR/org1/journal/${1//\//\~}.json" ]]; }
check "the sweep removes the object whose transaction was never sent" eventually 20 gone "$orphan_key"
check "  … and the one whose transaction is final without naming it" eventually 20 gone "$final_key"
check "  … settles the anchored object's entry" eventually 20 entry_gone "$anchored_key"
check "  … the anchored object is untouched" expect 200 1 User1 GET "$V/phases/P1/files/$ifid/content"
sleep 3 # several sweeps (every second here)
check "  … and keeps the object whose transaction may still be ordered" store_has "$waiting_key"
check "  … with its entry" bash -c "[[ -e '$GW_DIR/org1/journal/${waiting_key//\//\~}.json' ]]"
# What the test planted goes: its entry first, then the object.
rm -f "$GW_DIR/org1/journal/${waiting_key//\//\~}.json" && store_del "$waiting_key"
# An idempotent retry answers 200 only while the anchored object is there.
check "the anchored once.txt loses its object behind the gateway's back" store_del "$anchored_key"
check "  … its idempotent retry is no 200 but 502 naming the missing object" expect 502 1 User1 POST "$V/phases/P1/files?name=once.txt" -H 'Idempotency-Key: k-1' --data-binary 'once'
check "  … integrity" body_has '.code == "integrity" and (.message | test("object is missing"))'

# --- uploads verified by a full re-read before anchoring ----------------------------------------
restart_full() { SVCFLOW_GW_VERIFY_UPLOADS=full gw_start org2 force && gw_wait_healthy org2; }
check "restart Org2's gateway with verify_uploads = full" restart_full
check "an upload re-read before its anchor → 201" expect 201 2 User1 POST "$V/phases/P1/files?name=full.bin&id=full" --data-binary @"$TMP/drawing.bin"
check "  … and reads back" same_file 1 User1 P1 full
restore() { local o; for o in org1 org2; do gw_start "$o" force && gw_wait_healthy "$o" || return 1; done; }
check "restart Org1's and Org2's gateways as configured" restore

finish gateway
