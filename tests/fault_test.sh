#!/usr/bin/env bash
# Fault injection (issue 12): while uploads and record writes run, each fault below is injected a
# bounded number of times; then, everything back up and every journal settled, the invariants are
# checked: every acknowledged write (2xx) is readable (files verify against their anchors); every
# unacknowledged one is whole or absent (no anchor without its object); no object and no multipart
# part in the store that no anchor names; no 5xx but 503 and 507. Prints a Markdown table of the
# faults (docs/reliability.md) and "fault: N passed, N failed, N skipped". Its own project id.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network fault
P=ft$(date +%s)
V=/v1/projects/$P
TMP=$(mktemp -d)
SMALL=$TMP/small
trap 'umount "$SMALL" 2>/dev/null; rm -rf "$TMP"' EXIT
LOG=$TMP/writes # kind tag id status sha256-or-dash, one line per write
# Faults injected, one line each (checks run in subshells: a file keeps the count).
inject() { echo "$1" >>"$TMP/injected"; }
injected() { grep -cx "$1" "$TMP/injected" 2>/dev/null || true; }

# The gateways settle their journals within seconds here (sweep every second, a transaction in no
# block after 20 s was never ordered), so the checks need not wait minutes.
fast_gw() { SVCFLOW_GW_SWEEP_AFTER_MS=1000 SVCFLOW_GW_GIVE_UP_ORDERING_MS=20000 gw_start "$1" force && gw_wait_healthy "$1"; }
check "Org1's gateway restarted to sweep every second" fast_gw org1
check "Org2's gateway restarted to sweep every second" fast_gw org2

check "create project $P" expect 201 1 User1 POST /v1/projects -d "{\"id\":\"$P\",\"name\":\"Faults\"}"
check "add phase F {Org1, Org2}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"F\",\"name\":\"faults\",\"participants\":$(participants 1 2)}"

upload() { # org tag id bytes [curl args...]: one upload, logged
  local org=$1 tag=$2 id=$3 bytes=$4 f code; shift 4
  f=$TMP/up.$id
  head -c "$bytes" /dev/urandom >"$f"
  code=$(gwcurl "$org" User1 "$V/phases/F/files?name=$id.bin&id=$id" -sS -o /dev/null -w '%{http_code}' -X POST --data-binary @"$f" "$@" 2>/dev/null)
  echo "file $tag $id ${code:-000} $(sha256sum <"$f" | cut -d' ' -f1)" >>"$LOG"
  rm -f "$f"
}
put() { # org tag id: one record write, logged
  local code
  code=$(gwcurl "$1" User1 "$V/phases/F/records/$3" -sS -o /dev/null -w '%{http_code}' -X PUT -d "{\"id\":\"$3\"}" --max-time 60 2>/dev/null)
  echo "record $2 $3 ${code:-000} -" >>"$LOG"
}
# Waits name their jobs: a gateway started from this shell is a job of it too, and never ends.
writes() { # tag n [org]: n record writes through Org1's and Org2's gateways (or org's), 4 at a time
  local i pids=()
  for ((i = 1; i <= $2; i++)); do
    put "${3:-$((i % 2 + 1))}" "$1" "$1-r$i" &
    pids+=($!)
    if ((i % 4 == 0)); then wait "${pids[@]}"; pids=(); fi
  done
  ((${#pids[@]} == 0)) || wait "${pids[@]}"
}
# Starts whatever is down, leaves the rest; says why when it cannot.
restore() { "$NET" up >"$TMP/restore.log" 2>&1 || { echo "network.sh up failed:"; tail -3 "$TMP/restore.log"; return 1; }; }

# --- a gateway killed at a random point of an upload, 20 times ------------------------------------
kill_uploads() {
  local i up
  for ((i = 1; i <= 20; i++)); do
    upload 1 kill "kill$i" $((4 << 20)) --limit-rate 6M &
    up=$!
    sleep "0.$((RANDOM % 9 + 1))"
    kill -KILL "$(cat "$PIDS/gateway.org1.pid")" 2>/dev/null
    wait "$up"
    fast_gw org1 || return 1
    inject kill
  done
}
kill_uploads 2>/dev/null # (the shell reports each killed gateway: noise)
check "Org1's gateway killed during 20 uploads, restarted each time" bash -c "[[ $(injected kill) == 20 ]]"

# --- RGW stopped and started during an upload, 3 times ---------------------------------------------
if on_rgw; then
  for i in 1 2 3; do
    upload 2 rgw "rgw$i" $((24 << 20)) --limit-rate 12M &
    up=$!
    sleep 1
    "$NET_DIR/ceph.sh" stop-rgw >/dev/null 2>&1
    wait "$up"
    "$NET_DIR/ceph.sh" start-rgw >/dev/null 2>&1
    upload 2 rgw "rgw$i-after" $((1 << 20))
    inject rgw
  done
  check "RGW stopped during 3 uploads and started again" bash -c "[[ $(injected rgw) == 3 ]]"
else
  skip "RGW stopped mid-upload" "the gateways use the fs store (network.sh up -s ceph for RGW)"
fi

# --- the Raft leader, then a follower, killed under record writes --------------------------------
raft_fault() { # role
  local leader victim o
  leader=$(leader_name)
  [[ $(wc -w <<<"$leader") == 1 ]] || { echo "leaders: ${leader:-none}"; return 1; }
  victim=$leader
  if [[ $1 == follower ]]; then for o in "${ORDERERS[@]}"; do [[ $o != "$leader" ]] && { victim=$o; break; }; done; fi
  writes "raft-$1" 40 &
  local w=$!
  sleep 1
  kill -KILL "$(cat "$PIDS/$victim.pid")"
  wait "$w"
  restore || return 1
  inject raft
}
check "the Raft leader killed under 40 record writes, restarted" raft_fault leader
check "a Raft follower killed under 40 record writes, restarted" raft_fault follower

# --- peer0.org1 killed: Org1's gateway fails over to peer1.org1 ---------------------------------
peer1_fault() {
  writes peer1 20 &
  local w=$!
  sleep 1
  kill -KILL "$(cat "$PIDS/peer0.org1.pid")"
  wait "$w"
  writes peer1-after 20 1
  restore || return 1
  inject peer1
}
check "peer0.org1 killed under record writes, restarted" peer1_fault
# (Through Org2's gateway a write may get 503 until discovery drops the dead peer: retry later.)
failover_ok() { # every write through Org1 after the kill was committed through peer1.org1
  local bad; bad=$(awk '$2 == "peer1-after" && $4 !~ /^2/' "$LOG" | wc -l)
  ((bad == 0)) || { awk '$2 == "peer1-after" && $4 !~ /^2/' "$LOG" | head; return 1; }
}
check "  … every write through Org1's gateway after the kill was acknowledged (failover)" failover_ok

# --- peer0.org2 killed: an {Org1, Org2} private write has no Org2 endorser -----------------------
stop_peer0_org2() { kill -KILL "$(cat "$PIDS/peer0.org2.pid")"; }
check "kill peer0.org2 (Org2's only peer)" stop_peer0_org2
no_endorser() {
  local code
  code=$(req 1 User1 PUT "$V/phases/F/records/peer2-x" -d '{"x":1}')
  echo "record peer2 peer2-x $code -" >>"$LOG"
  [[ $code == 503 ]] || { echo "status $code: $(head -c 300 "$TMP/body")"; return 1; }
  grep -qi '^retry-after: [0-9]' "$TMP/headers" || { echo "no Retry-After"; return 1; }
}
check "a write needing Org2's endorsement → 503 with Retry-After" eventually 60 no_endorser
inject peer2
check "peer0.org2 started again (network.sh up)" restore
committed_x() { local code; code=$(req 1 User1 PUT "$V/phases/F/records/peer2-x" -d '{"x":2}'); [[ $code =~ ^20[01]$ ]] && echo "record peer2 peer2-x $code -" >>"$LOG"; }
check "  … and once peer0.org2 is back, it commits" eventually 60 committed_x

# --- a chaincode server restarted under load -----------------------------------------------------
cc_fault() {
  writes cc 40 &
  local w=$!
  sleep 1
  stop_all chaincode.org1
  restore || { wait "$w"; return 1; }
  wait "$w"
  inject cc
}
check "chaincode.org1 restarted under 40 record writes" cc_fault
after_cc() { writes cc-after 8; [[ $(awk '$2 == "cc-after" && $4 !~ /^2/' "$LOG" | wc -l) == 0 ]]; }
check "  … the peers reconnected: writes through both orgs commit" eventually 60 after_cc

# --- a full disk: Org1's gateway on a 4 MiB fs store -------------------------------------------
full_disk() {
  mkdir -p "$SMALL"
  mount -t tmpfs -o size=4m tmpfs "$SMALL" || { echo "cannot mount a tmpfs (needs root)"; return 1; }
  SVCFLOW_GW_STORAGE_BACKEND=fs SVCFLOW_GW_STORAGE_PATH=$SMALL SVCFLOW_GW_SWEEP_AFTER_MS=1000 gw_start org1 force && gw_wait_healthy org1 || return 1
  local i
  for i in 1 2 3 4 5 6; do upload 1 disk "disk$i" $((1 << 20)); done
  for i in 1 2 3 4 5 6; do inject disk; done
}
check "Org1's gateway on a 4 MiB store: 6 uploads of 1 MiB" full_disk
disk_507() { [[ $(awk '$2 == "disk" && $4 == 507' "$LOG" | wc -l) -ge 1 ]] || { grep ' disk ' "$LOG"; return 1; }; }
check "  … the store fills: 507, never blamed on the client" disk_507
disk_whole() { # on that store: every 201 verifies, every 507 left no anchor and no object
  local id code files
  while read -r _ _ id code _; do
    if [[ $code == 201 ]]; then expect 200 1 User1 GET "$V/phases/F/files/$id/verify" && body_has '.verified' || return 1; fi
    if [[ $code == 507 ]]; then expect 404 1 User1 GET "$V/phases/F/files/$id" || return 1; fi
  done < <(awk '$2 == "disk"' "$LOG")
  files=$(find "$SMALL" -type f -not -path '*/.incoming/*' | wc -l)
  [[ $files == $(awk '$2 == "disk" && $4 == 201' "$LOG" | wc -l) ]] || { echo "$files objects for $(awk '$2 == "disk" && $4 == 201' "$LOG" | wc -l) anchors"; find "$SMALL"; return 1; }
}
check "  … what was acknowledged verifies, what was refused left nothing" disk_whole
leave_disk() { fast_gw org1 && umount "$SMALL"; }
check "Org1's gateway back on its own store" leave_disk

# --- invariants, everything back ---------------------------------------------------------------
check "everything is up again (network.sh up)" "$NET" up
settled() { local f; for f in "$GW_DIR"/org1/journal/* "$GW_DIR"/org2/journal/*; do [[ -e $f ]] && { echo "unsettled: $f"; return 1; }; done; return 0; }
check "both journals settle" eventually 90 settled
# Files of the tmpfs store are gone with it: checked above, left out below.
anchors() { # every object key an anchor of phase F names
  local bookmark="" n=0
  : >"$TMP/anchored"
  while :; do
    [[ $(req 1 User1 GET "$V/phases/F/files?page_size=100&bookmark=$bookmark") == 200 ]] || return 1
    jq -r '.items[] | select(.id | startswith("disk") | not) | .object_key' "$TMP/body" >>"$TMP/anchored"
    bookmark=$(jq -r .bookmark "$TMP/body"); n=$((n + 1))
    [[ -n $bookmark ]] || break
  done
}
check "list every anchor of F" anchors
# The buckets of phase F in RGW (one per org whose gateway stored there), from its anchors.
f_buckets() { grep -o '^svf-[0-9a-f]*' "$TMP/anchored" | sort -u; }
stored() { # every object of phase F in the store
  if on_rgw; then
    local b
    for b in $(f_buckets); do
      s3 GET "$b?list-type=2&max-keys=1000" -o "$TMP/list" && grep -o '<Key>[^<]*</Key>' "$TMP/list" | sed "s/<[^>]*>//g; s|^|$b/|"
    done | sort
  else
    (cd "$STATE/objects" 2>/dev/null && find "$P/F" -type f 2>/dev/null | sort)
  fi
}
lost=0 partial=0
verify_acked() {
  local kind tag id code sha
  while read -r kind tag id code sha; do
    [[ $tag == disk ]] && continue
    if [[ $kind == file && $code =~ ^2 ]]; then
      if ! { [[ $(req 1 User1 GET "$V/phases/F/files/$id/verify") == 200 ]] && jq -e --arg s "$sha" '.verified and .sha256 == $s' "$TMP/body" >/dev/null; }; then
        echo "LOST file $id ($tag): $(head -c 200 "$TMP/body")"; lost=$((lost + 1)); echo "$tag" >>"$TMP/lost"
      fi
    elif [[ $kind == file ]]; then # unacknowledged: whole or absent
      case $(req 1 User1 GET "$V/phases/F/files/$id/verify") in
        404) ;;
        200) jq -e '.verified' "$TMP/body" >/dev/null || { echo "PARTIAL file $id ($tag)"; partial=$((partial + 1)); } ;;
        *) echo "file $id ($tag): $(head -c 200 "$TMP/body")"; partial=$((partial + 1)) ;;
      esac
    elif [[ $code =~ ^2 ]]; then
      [[ $(req 1 User1 GET "$V/phases/F/records/$id") == 200 ]] || { echo "LOST record $id ($tag)"; lost=$((lost + 1)); echo "$tag" >>"$TMP/lost"; }
    fi
  done <"$LOG"
  ((lost == 0 && partial == 0))
}
check "every acknowledged write is there (files verify); every other one whole or absent" verify_acked
orphans() {
  comm -23 <(stored) <(sort "$TMP/anchored") >"$TMP/orphans"
  [[ ! -s $TMP/orphans ]] || { echo "objects no anchor names:"; cat "$TMP/orphans"; return 1; }
}
check "no object in the store that no anchor names" orphans
no_parts() {
  on_rgw || return 0
  local b
  for b in $(f_buckets); do
    s3 GET "$b?uploads=" -o "$TMP/uploads" || return 1
    if grep -q '<Upload>' "$TMP/uploads"; then grep -o '<Key>[^<]*</Key>' "$TMP/uploads"; return 1; fi
  done
}
check "no incomplete multipart upload left" no_parts
only_503_507() {
  local bad; bad=$(awk '$4 ~ /^5/ && $4 != 503 && $4 != 507' "$LOG")
  [[ -z $bad ]] || { echo "$bad" | head; return 1; }
}
check "no 5xx but 503 and 507" only_503_507
restore_gw() { local o; for o in org1 org2; do gw_start "$o" force && gw_wait_healthy "$o" || return 1; done; }
check "gateways back to their configured sweep" restore_gw

# --- the table for docs/reliability.md --------------------------------------------------------------
echo
echo "| fault | injected | writes | acknowledged | lost | unacknowledged, left whole or absent |"
echo "|---|---|---|---|---|---|"
row() { # label tag-regex injected
  local n acked lostn
  n=$(awk -v t="$2" '$2 ~ t' "$LOG" | wc -l)
  acked=$(awk -v t="$2" '$2 ~ t && $4 ~ /^2/' "$LOG" | wc -l)
  lostn=$(grep -cE "$2" "$TMP/lost" 2>/dev/null || true)
  echo "| $1 | $3 | $n | $acked | ${lostn:-0} | $((n - acked)) |"
}
row "gateway SIGKILL at a random point of an upload (4 MiB)" '^kill$' "$(injected kill)"
row "RGW stopped and started mid-upload (24 MiB)" '^rgw' "$(injected rgw)"
row "Raft leader, then a follower, SIGKILL under record writes" '^raft' "$(injected raft)"
row "peer0.org1 SIGKILL (failover to peer1.org1)" '^peer1' "$(injected peer1)"
row "peer0.org2 SIGKILL (Org2's only peer: 503 until back)" '^peer2' "$(injected peer2)"
row "chaincode.org1 restarted under record writes" '^cc' "$(injected cc)"
row "disk full (Org1's gateway on a 4 MiB fs store)" '^disk' "$(injected disk)"
echo "orphans (objects or multipart parts no anchor names) after the sweep: $(wc -l <"$TMP/orphans" 2>/dev/null || echo '?')"
echo
finish fault
