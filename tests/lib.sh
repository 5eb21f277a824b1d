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
# A body goes labelled application/json (the gateway refuses JSON under any other type, 415)
# unless it is an upload (a path with /files) or the arguments name a content type.
gwcurl() {
  local o=$1 t a json=(); t=$(user_tls "$1" "$2")
  for a in "${@:4}"; do
    case $a in -d | --data | --data-raw | --data-binary) [[ $3 == */files* ]] || json=(-H 'content-type: application/json') ;; esac
  done
  for a in "${@:4}"; do [[ ${a,,} == content-type:* ]] && json=(); done
  curl --cacert "$GW_DIR/org$o/tls/ca.crt" --cert "$t/client.crt" --key "$t/client.key" "https://127.0.0.1:$(gw_port "org$o")$3" "${json[@]}" "${@:4}"
}

# The orderer(s) whose metrics say they lead the channel's Raft (one, normally).
leader_name() { local o; for o in "${ORDERERS[@]}"; do [[ $(metric "$(ops_port "$o")" "consensus_etcdraft_is_leader\\{channel=\"$CHANNEL\"\\}") == 1 ]] && echo "$o"; done; }

# For the peer CLI (after live_network): endorsers ORGS... -> --peerAddresses/--tlsRootCertFiles
# lines for a peer of each org; inv and q invoke and query svcflow as an org's user.
endorsers() { # orgs...
  local o p out=()
  for o in "$@"; do p=$(org_peer "$o"); out+=(--peerAddresses "127.0.0.1:$(peer_port "$p")" --tlsRootCertFiles "$(peer_dir "$p")/tls/ca.crt"); done
  printf '%s\n' "${out[@]}"
}
# inv ORG USER "ENDORSING ORGS" FUNC JSON [TRANSIENT-JSON]: invoke and wait for the commit.
inv() {
  local org=$1 user=$2 orgs=$3 fn=$4 arg=$5 tr=${6:-}
  local args; args=$(jq -cn --arg f "$fn" --arg a "$arg" '{Args:[$f,$a]}')
  local -a orgs_ eps
  read -ra orgs_ <<<"$orgs"
  mapfile -t eps < <(endorsers "${orgs_[@]}")
  (
    peer_cli_env "$org" "$user"
    FABRIC_LOGGING_SPEC=error "$BIN/peer" chaincode invoke -o "$(orderer_address)" --tls --cafile "$ORDERER_CA" -C "$CHANNEL" -n svcflow \
      "${eps[@]}" -c "$args" ${tr:+--transient "$tr"} --waitForEvent 2>&1
  )
}
# q ORG USER FUNC JSON [PEER]: evaluate on the org's peer (or PEER); prints the payload.
q() {
  local org=$1 user=$2 fn=$3 arg=$4 peer=${5:-}
  local args; args=$(jq -cn --arg f "$fn" --arg a "$arg" '{Args:[$f,$a]}')
  (
    peer_cli_env "$org" "$user" ${peer:+"$peer"}
    FABRIC_LOGGING_SPEC=error "$BIN/peer" chaincode query -C "$CHANNEL" -n svcflow -c "$args"
  )
}
ok_inv() { local out; { out=$(inv "$@") && ! grep -q 'Error' <<<"$out"; } || { echo "$out"; return 1; }; }
# cli_fill ORG USER "ENDORSING ORGS" PROJECT PHASE: steps a joiner's fill with the peer CLI alone
# (ReadMigrationBatch, then MigratePhase with that batch) until the joiners take part: the walk
# over every key, the recheck of keys written meanwhile, its sealing step and the last one.
cli_fill() {
  local org=$1 user=$2 orgs=$3 ref batch i
  ref=$(jq -cn --arg p "$4" --arg ph "$5" '{project:$p,phase:$ph}')
  _cli_fill_joining() {
    q "$org" "$user" ListPhases "{\"project\":\"$4\"}" | jq -e --arg ph "$5" '.[] | select(.id == $ph) | .migration != null
      and ((.migration.participants | map(.msp_id) | unique) - (.participants | map(.msp_id) | unique) | length > 0)' >/dev/null
  }
  for ((i = 0; i < 8; i++)); do
    _cli_fill_joining "$@" || return 0
    batch=$(q "$org" "$user" ReadMigrationBatch "$ref") || return 1
    ok_inv "$org" "$user" "$orgs" MigratePhase "$ref" "{\"batch\":\"$(printf '%s' "$batch" | base64 -w0)\"}" || return 1
  done
  echo "the fill of $5 did not end in $i steps"
  return 1
}
# refused KIND cmd...: the command fails and its output names the refusal kind.
refused() { local kind=$1 out; shift; out=$("$@" 2>&1) && { echo "unexpectedly succeeded: $out"; return 1; }; grep -q "$kind" <<<"$out" || { echo "$out"; return 1; }; }

# For the REST suites, with $TMP set:
# req ORG USER METHOD PATH [curl args...]: the body goes to $TMP/body, the status is printed.
req() {
  local o=$1 u=$2 m=$3 path=$4; shift 4
  gwcurl "$o" "$u" "$path" -sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$m" "$@"
}
# expect STATUS ORG USER METHOD PATH [curl args...]: the status matches and an error is JSON.
expect() {
  local want=$1; shift
  local got; got=$(req "$@")
  [[ $got == "$want" ]] || { echo "status $got, wanted $want: $(head -c 600 "$TMP/body")"; return 1; }
  if ((got >= 400)); then jq -e '.code and .message' "$TMP/body" >/dev/null || { echo "error body is not {code, message}: $(head -c 300 "$TMP/body")"; return 1; }; fi
}
participants() { local o out=(); for o in "$@"; do out+=("{\"msp_id\":\"Org${o}MSP\"}"); done; (IFS=,; echo "[${out[*]}]"); }
header_is() { grep -qi "^$1: $2"$'\r' "$TMP/headers" || { echo "no '$1: $2' in:"; cat "$TMP/headers"; return 1; }; }
body_has() { jq -e "$1" "$TMP/body" >/dev/null || { echo "body fails $1: $(head -c 600 "$TMP/body")"; return 1; }; }

# The chain as any org sees it: fetch_blocks FROM TO DIR fetches blocks FROM..TO-1 as Org3's admin
# and decodes them; no_private_bytes DIR STRINGS... fails naming any string found in them.
fetch_blocks() { # from to dir: every block as Org3's admin
  local n
  mkdir -p "$3"
  for ((n = $1; n < $2; n++)); do
    (peer_cli_env org3 Admin; "$BIN/peer" channel fetch "$n" "$3/$n.pb" -c "$CHANNEL" -o "127.0.0.1:$(orderer_port orderer1)" --tls --cafile "$ORDERER_CA" >/dev/null 2>&1) || { echo "fetch block $n failed"; return 1; }
    "$BIN/configtxlator" proto_decode --type common.Block --input "$3/$n.pb" --output "$3/$n.json" || { echo "decode block $n failed"; return 1; }
  done
}
no_private_bytes() { # dir strings...
  local dir=$1 s found=0; shift
  for s in "$@"; do
    [[ -n $s && $s != null ]] || { echo "an empty marker"; return 1; }
    if grep -rlaF -- "$s" "$dir" >/dev/null; then echo "found in blocks: $s ($(grep -rlaF -- "$s" "$dir" | head -3 | xargs -n1 basename | tr '\n' ' '))"; found=1; fi
  done
  return $found
}
hex() { od -An -v -tx1 | tr -d ' \n'; }

# Direct access to the gateways' store, behind their back: RGW over S3 (SigV4) or the fs dir.
on_rgw() { [[ -f $STATE/ceph/s3.env ]] && port_open "$(rgw_port)"; }
# curl 7.88's SigV4 signs the query as written: give its keys in order, every key with "=", and
# "/" in values as %2F (e.g. "?prefix=p%2F&uploads="), or RGW answers 403.
s3() { # METHOD KEY [curl args...]
  local m=$1 k=$2; shift 2
  # A key in a phase bucket (svf-<40 hex>/<object>, ?query after the bucket too): only the org
  # whose gateway stored it may write or list there, so each org's user is tried in turn.
  if [[ $k =~ ^svf-[0-9a-f]{40}([/?]|$) ]]; then s3_owner "$m" "$k" "$@"; return; fi
  ( load_env "$STATE/ceph/s3.env"
    s3_call "$SVCFLOW_S3_ACCESS_KEY" "$SVCFLOW_S3_SECRET_KEY" "$m" "$SVCFLOW_S3_BUCKET/$k" "$@" )
}
s3_call() { # ACCESS SECRET METHOD PATH [curl args...]: one SigV4 request to the RGW
  local access=$1 secret=$2 m=$3 path=$4; shift 4
  ( load_env "$STATE/ceph/s3.env"
    # RGW wants the payload hash header, which curl's SigV4 does not add.
    local hash; hash=$(sha256sum </dev/null | cut -d' ' -f1)
    [[ $m == PUT ]] && hash=$(sha256sum <"$1" | cut -d' ' -f1) && set -- -T "$@"
    curl -sSf -X "$m" --aws-sigv4 "aws:amz:${SVCFLOW_S3_REGION:-default}:s3" --user "$access:$secret" \
      -H "x-amz-content-sha256: $hash" "$SVCFLOW_S3_ENDPOINT/$path" "$@" )
}
s3_as() { # ORG METHOD PATH [curl args...]: as that org's own RGW user (ceph.sh's ORG.access, ORG.secret)
  local org=$1; shift
  s3_call "$(cat "$STATE/ceph/s3/$org.access")" "$(cat "$STATE/ceph/s3/$org.secret")" "$@"
}
s3_owner() { # METHOD PATH [curl args...]: as the first org's user that may (the bucket's owner, for writes)
  local org
  for org in "${ORGS[@]}"; do s3_as "$org" "$@" 2>/dev/null && return 0; done
  echo "no org's RGW user may $1 $2"; return 1
}
store_get() { if on_rgw; then s3 GET "$1" -o "$2"; else cp "$STATE/objects/$1" "$2"; fi; }
store_put() { if on_rgw; then s3 PUT "$1" "$2"; else mkdir -p "$(dirname "$STATE/objects/$1")" && cp "$2" "$STATE/objects/$1"; fi; }
store_del() { if on_rgw; then s3 DELETE "$1"; else rm -f "$STATE/objects/$1"; fi; }
store_has() { if on_rgw; then s3 GET "$1" -o /dev/null 2>/dev/null; else [[ -f $STATE/objects/$1 ]]; fi; }
# flip_byte FILE: one bit of the middle byte of FILE changed (an object altered behind the gateway).
flip_byte() { python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=1; open(sys.argv[1],"wb").write(b)' "$1"; }
