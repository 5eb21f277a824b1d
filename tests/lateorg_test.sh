#!/usr/bin/env bash
# Live test of an org that joins the channel after the chaincode was deployed (issue 21): a new
# channel of Org1 and Org2 only gets the chaincode and a phase; Org3 is added to it by a channel
# config update that the admins of Org1 and Org2 sign, its peer joins and its org approves the
# definition already committed. With no change to that definition, Org3 takes part in a new phase,
# receives its copy of the older phase when it joins it, and reads and writes there; its peer holds
# only its own org's copy. Prints "lateorg: N passed, N failed, N skipped". Each run makes its own
# channel (the orderers keep it; network.sh clean removes it).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network lateorg
MAIN=$CHANNEL
L=late$(date +%s)
P=lo$(date +%s)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
b64() { printf '%s' "$1" | base64 -w0; }
pr() { echo "{\"record_id\":\"$(b64 "$1")\",\"record\":\"$(b64 "$2")\"}"; }
ph() { echo "{\"project\":\"$P\",\"phase\":\"$1\"}"; }

# --- a channel of Org1 and Org2, with the chaincode -------------------------------------------
genesis() {
  "$BIN/configtxgen" -configPath "$(configtx_dir)" -profile SvcflowTwoOrgs -channelID "$L" -outputBlock "$(channel_block "$L")" \
    >"$TMP/configtxgen.log" 2>&1 || { tail -5 "$TMP/configtxgen.log"; return 1; }
  local o p
  for o in "${ORDERERS[@]}"; do orderer_join "$o" "$L" || return 1; done
  wait_raft_leader "$L" || return 1
  for p in "${PEERS[@]}"; do [[ $(peer_org "$p") == org3 ]] || peer_join "$p" "$L" || return 1; done
}
check "channel $L of Org1 and Org2: orderers and their peers join" genesis

package_id() { cut -d' ' -f1 "$STATE/chaincode/$1/running-id"; }
approve() { # org
  (
    peer_cli_env "$1"
    "$BIN/peer" lifecycle chaincode approveformyorg -o "$(orderer_address)" --tls --cafile "$ORDERER_CA" -C "$L" -n svcflow \
      -v 1.0 --sequence 1 --package-id "$(package_id "$1")" --waitForEvent 2>&1
  )
}
commit_cc() {
  local -a eps
  mapfile -t eps < <(endorsers org1 org2)
  (
    peer_cli_env org1
    "$BIN/peer" lifecycle chaincode commit -o "$(orderer_address)" --tls --cafile "$ORDERER_CA" -C "$L" -n svcflow \
      -v 1.0 --sequence 1 "${eps[@]}" --waitForEvent 2>&1
  )
}
check "Org1 approves the chaincode on $L (no collections)" approve org1
check "Org2 approves it" approve org2
check "it is committed at sequence 1" commit_cc
CHANNEL=$L # inv and q act on the new channel from here
check "create project $P on $L" ok_inv org1 User1 "org1 org2" CreateProject "{\"id\":\"$P\",\"name\":\"Late\"}"
check "add P1 {Org1, Org2}" ok_inv org1 User1 "org1 org2" AddPhase "{\"project\":\"$P\",\"id\":\"P1\",\"name\":\"before\",\"participants\":$(participants 1 2)}"
# A phase's items are named and salted from its key (blinded phases): a participant sets it first.
key() { echo "{\"phase_key\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}"; }
check "Org1 sets P1's key" ok_inv org1 User1 "org1 org2" SetPhaseKey "$(ph P1)" "$(key)"
check "Org2 writes r1 on P1" ok_inv org2 User1 "org1 org2" PutRecord "$(ph P1)" "$(pr r1 '{"v":1}')"
check "Org3 is no org of $L yet: a phase naming it is refused" refused "Org3MSP is not an org of this channel" \
  inv org1 User1 "org1 org2" AddPhase "{\"project\":\"$P\",\"id\":\"PX\",\"name\":\"x\",\"participants\":$(participants 1 3)}"

# --- Org3 joins the channel ------------------------------------------------------------------
# as fabric-samples' addOrg3 does it: Org3's definition (here from the main channel's config) goes
# into the new channel's config; Org1's admin signs the update and Org2's submits it (MAJORITY).
config_json() { # channel file
  (
    peer_cli_env org1
    "$BIN/peer" channel fetch config "$TMP/$1.pb" -o "$(orderer_address)" -c "$1" --tls --cafile "$ORDERER_CA" >/dev/null 2>&1
  ) || return 1
  "$BIN/configtxlator" proto_decode --input "$TMP/$1.pb" --type common.Block | jq '.data.data[0].payload.data.config' >"$2"
}
add_org3() {
  config_json "$MAIN" "$TMP/main.json" && config_json "$L" "$TMP/old.json" || return 1
  jq --slurpfile m "$TMP/main.json" '.channel_group.groups.Application.groups.Org3MSP = $m[0].channel_group.groups.Application.groups.Org3MSP' \
    "$TMP/old.json" >"$TMP/new.json" || return 1
  local x
  for x in old new; do "$BIN/configtxlator" proto_encode --input "$TMP/$x.json" --type common.Config --output "$TMP/$x.pb" || return 1; done
  "$BIN/configtxlator" compute_update --channel_id "$L" --original "$TMP/old.pb" --updated "$TMP/new.pb" --output "$TMP/update.pb" || return 1
  "$BIN/configtxlator" proto_decode --input "$TMP/update.pb" --type common.ConfigUpdate |
    jq --arg ch "$L" '{payload: {header: {channel_header: {channel_id: $ch, type: 2}}, data: {config_update: .}}}' >"$TMP/env.json"
  "$BIN/configtxlator" proto_encode --input "$TMP/env.json" --type common.Envelope --output "$TMP/env.pb" || return 1
  (peer_cli_env org1 && "$BIN/peer" channel signconfigtx -f "$TMP/env.pb" 2>&1) || return 1
  (
    peer_cli_env org2
    "$BIN/peer" channel update -f "$TMP/env.pb" -c "$L" -o "$(orderer_address)" --tls --cafile "$ORDERER_CA" 2>&1
  )
}
check "Org3 is added to $L (config update signed by Org1's and Org2's admins)" add_org3
check "peer0.org3 joins $L" peer_join peer0.org3 "$L"
check "Org3 approves the definition already committed (sequence 1, unchanged)" approve org3
known() { [[ $(metric "$(ops_port peer0.org3)" "gossip_membership_total_peers_known\\{channel=\"$L\"\\}") -ge 3 ]]; }
check "peer0.org3 knows the channel's other peers (gossip)" eventually 60 known
committed() {
  (peer_cli_env org1 && "$BIN/peer" lifecycle chaincode querycommitted -C "$L" -n svcflow -O json) >"$TMP/def.json" 2>&1 || { cat "$TMP/def.json"; return 1; }
  jq -e '.sequence == 1 and ((.collections.config // []) | length == 0)' "$TMP/def.json" >/dev/null || { cat "$TMP/def.json"; return 1; }
}
check "the definition is still sequence 1, with no collection" committed

# --- Org3 takes part, with no definition change -----------------------------------------------
check "add P2 {Org1, Org3}" ok_inv org1 User1 "org1 org3" AddPhase "{\"project\":\"$P\",\"id\":\"P2\",\"name\":\"after\",\"participants\":$(participants 1 3)}"
check "Org3 sets P2's key" ok_inv org3 User1 "org1 org3" SetPhaseKey "$(ph P2)" "$(key)"
check "Org3 writes r2 on P2, endorsed by Org1's and Org3's peers" ok_inv org3 User1 "org1 org3" PutRecord "$(ph P2)" "$(pr r2 '{"by":3}')"
read_r2() { q org1 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P2\",\"id\":\"r2\"}" | jq -e '.document.by == 3'; }
check "Org1 reads it on its peer" eventually 10 read_r2
check "Org1 proposes Org3 for P1" ok_inv org1 User1 "org1 org2 org3" UpdatePhase "{\"project\":\"$P\",\"id\":\"P1\",\"participants\":$(participants 1 2 3)}"
check "  … Org2 approves (P1 holds its data), and Org3 joins" ok_inv org2 User1 "org1 org2 org3" ApprovePhaseChange "$(ph P1)"
batch=$(q org1 User1 ReadMigrationBatch "$(ph P1)")
check "  … a batch from Org1's copy: r1, its change, the key" jq -e '.last == true and (.items | length == 3)' <<<"${batch:-null}"
check "  … fills Org3's copy (the walk, the recheck, its seal, the last step)" cli_fill org1 User1 "org1 org2 org3" "$P" P1
read_r1() { q org3 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}" peer0.org3 | jq -e '.document.v == 1'; }
check "Org3 reads r1 from its own peer" eventually 10 read_r1
count() { q "$1" User1 PhaseHoldings "{\"project\":\"$P\",\"phase\":\"$2\",\"collection\":\"_implicit_org_$3\"}" "$4" | jq -r .values; }
is() { [[ $1 == "$2" ]] || { echo "got $1, wanted $2"; return 1; }; }
check "peer0.org3 holds its own copy of P2 (r2, its change, the key)" is "$(count org3 P2 Org3MSP peer0.org3)" 3
check "  … and nothing of Org1's" is "$(count org3 P2 Org1MSP peer0.org3)" 0
check "Org3 writes on P1 with all three orgs' peers" ok_inv org3 User1 "org1 org2 org3" PutRecord "$(ph P1)" "$(pr r3 '{"v":3}')"

finish lateorg
