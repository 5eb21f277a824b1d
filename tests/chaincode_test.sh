#!/usr/bin/env bash
# Live test of the chaincode through the plain peer CLI (issue 3): a project with
# P1 {Org1, Org2}, P2 {Org2, Org3}, P3 {Org1 User1 only}; participants write and read; outsiders
# are refused by the chaincode and by the peer; bad input is refused and changes nothing.
# Prints "chaincode: N passed, N failed, N skipped". Uses its own project id, so it can rerun.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network chaincode
P=cc$(date +%s)
first_block=$(peer_height peer0.org1 "$CHANNEL")

b64() { printf '%s' "$1" | base64 -w0; }
same() { [[ $1 == "$2" ]] || { printf 'before: %s\nafter:  %s\n' "$1" "$2"; return 1; }; }
says() { local text=$1 out; shift; if out=$("$@" 2>&1) && grep -q "$text" <<<"$out"; then return 0; fi; echo "$out"; return 1; }
rec() { jq -cn "$1"; }

# Each phase its own key, so a key served for the wrong phase fails a check.
newkey() { head -c 32 /dev/urandom | base64 -w0; }
declare -A KEY=([P1]=$(newkey) [P2]=$(newkey) [P3]=$(newkey))
check "create project $P (Org1 User1)" ok_inv org1 User1 "org1 org2" CreateProject "{\"id\":\"$P\",\"name\":\"Bridge\"}"
check "add P1 {Org1, Org2}" ok_inv org1 User1 "org1 org2" AddPhase \
  "{\"project\":\"$P\",\"id\":\"P1\",\"name\":\"design\",\"participants\":[{\"msp_id\":\"Org1MSP\"},{\"msp_id\":\"Org2MSP\"}]}"
# The key never rides on AddPhase (its endorsers may be outside the phase): a participant sets it,
# endorsed by the phase's orgs only.
check "AddPhase refuses a phase key" refused "bad_request: AddPhase takes no phase_key" inv org1 User1 "org1 org2" AddPhase \
  "{\"project\":\"$P\",\"id\":\"PK\",\"name\":\"x\",\"participants\":[{\"msp_id\":\"Org1MSP\"}]}" "{\"phase_key\":\"${KEY[P1]}\"}"
check "Org1 sets P1's key" ok_inv org1 User1 "org1 org2" SetPhaseKey "{\"project\":\"$P\",\"phase\":\"P1\"}" "{\"phase_key\":\"${KEY[P1]}\"}"
check "add P2 {Org2, Org3} (key set later by a participant)" ok_inv org1 User1 "org1 org2" AddPhase \
  "{\"project\":\"$P\",\"id\":\"P2\",\"name\":\"build\",\"participants\":[{\"msp_id\":\"Org2MSP\"},{\"msp_id\":\"Org3MSP\"}]}"
check "Org2 sets P2's key" ok_inv org2 User1 "org2 org3" SetPhaseKey "{\"project\":\"$P\",\"phase\":\"P2\"}" "{\"phase_key\":\"${KEY[P2]}\"}"
u1=$(q org1 User1 WhoAmI '{}' | jq -r .id)
check "add P3 {Org1 User1 only}" ok_inv org1 User1 "org1 org2" AddPhase \
  "{\"project\":\"$P\",\"id\":\"P3\",\"name\":\"audit\",\"participants\":[{\"msp_id\":\"Org1MSP\",\"identity\":\"$u1\"}]}"
check "Org1 User1 sets P3's key" ok_inv org1 User1 "org1" SetPhaseKey "{\"project\":\"$P\",\"phase\":\"P3\"}" "{\"phase_key\":\"${KEY[P3]}\"}"

check "Org2 writes a record on P1" ok_inv org2 User1 "org1 org2" PutRecord "{\"project\":\"$P\",\"phase\":\"P1\"}" "{\"record_id\":\"$(b64 r1)\",\"record\":\"$(b64 '{"spec":1}')\"}"
read_r1() { q org1 User2 GetRecord "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}" | jq -e '.document.spec == 1 and .version == 1'; }
check "Org1 User2 reads Org2's record on P1 (same data on Org1's peer)" eventually 10 read_r1
check "Org3 writes a record on P2" ok_inv org3 User1 "org2 org3" PutRecord "{\"project\":\"$P\",\"phase\":\"P2\"}" "{\"record_id\":\"$(b64 r2)\",\"record\":\"$(b64 '{"x":true}')\"}"
check "Org1 User1 writes a record on P3" ok_inv org1 User1 "org1" PutRecord "{\"project\":\"$P\",\"phase\":\"P3\"}" "{\"record_id\":\"$(b64 r3)\",\"record\":\"$(b64 '{"audit":"ok"}')\"}"
read_r3() { q org1 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P3\",\"id\":\"r3\"}" | jq -e '.document.audit == "ok"'; }
check "Org1 User1 reads P3" read_r3
pk() { local got; got=$(q "$1" "$2" GetPhaseKey "{\"project\":\"$P\",\"phase\":\"$3\"}" | jq -r .key); [[ $got == "${KEY[$3]}" ]] || { echo "got $got for $3, want ${KEY[$3]}"; return 1; }; }
for t in "org2 User1 P1" "org3 User1 P2" "org1 User1 P3"; do read -ra a <<<"$t"; check "phase key for $t" pk "${a[@]}"; done

# Division: the chaincode refuses outsiders...
check "chaincode refuses Org3 reading P1" refused "forbidden: .*not a participant" q org3 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}"
check "chaincode refuses Org3 reading P1 even on Org1's peer" refused "forbidden" q org3 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}" peer0.org1
check "chaincode refuses Org3 P1's key" refused "forbidden" q org3 User1 GetPhaseKey "{\"project\":\"$P\",\"phase\":\"P1\"}"
check "chaincode refuses Org1 User2 on P3" refused "forbidden" q org1 User2 GetRecord "{\"project\":\"$P\",\"phase\":\"P3\",\"id\":\"r3\"}"
check "chaincode refuses Org1 User2 writing P3" refused "forbidden" inv org1 User2 "org1" PutRecord "{\"project\":\"$P\",\"phase\":\"P3\"}" "{\"record_id\":\"$(b64 r3)\",\"record\":\"$(b64 '{}')\"}"
check "chaincode refuses Org1 on P2" refused "forbidden" q org1 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P2\",\"id\":\"r2\"}"
# ...and the peers refuse what the collection does not allow: a P1 write sent to Org1's and Org3's
# peers instead of Org1's and Org2's.
before=$(q org1 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}")
# A P1 write endorsed by Org1's and Org3's peers instead of Org1's and Org2's: Org3's peer holds no
# copy of P1 to simulate against, and without Org2's peer the write to Org2's copy could not meet
# that copy's endorsement policy anyway.
check "a P1 write endorsed by Org1 + Org3 is refused" refused "takes no part in phase\|ENDORSEMENT_POLICY_FAILURE" \
  inv org1 User1 "org1 org3" PutRecord "{\"project\":\"$P\",\"phase\":\"P1\"}" "{\"record_id\":\"$(b64 r1)\",\"record\":\"$(b64 '{"spec":666}')\"}"
check "...and P1's record is unchanged" same "$before" "$(q org1 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}")"
# Where the division is decided: a P1 participant (past the chaincode's ACL) reads P1 on a peer of an
# org outside P1. Each participant org's copy lives in its implicit collection, which Fabric hands to
# that org's peers only: the chaincode says clearly that this peer holds no copy...
not_held() { # org user func json peer
  local out
  out=$(q "$1" "$2" "$3" "$4" "$5" 2>&1) && { echo "$5 returned data: $out"; return 1; }
  grep -q "forbidden: this peer's org Org[0-9]MSP takes no part in phase .*holds no copy" <<<"$out" || { echo "no clear not-a-member refusal: $out"; return 1; }
}
# ...and the peer's own store says the same: read there, the participants' collections hold nothing
# of the phase, while each participant's peer holds its own copy.
count() { q "$1" "$2" PhaseHoldings "{\"project\":\"$P\",\"phase\":\"$3\",\"collection\":\"_implicit_org_$4\"}" "$5" | jq -r .values; }
empty_on() { local c; for c in "$@"; do [[ $c == 0 ]] || { echo "holds $c values"; return 1; }; done; }
some_on() { [[ $1 =~ ^[1-9][0-9]*$ ]] || { echo "holds '$1' values"; return 1; }; }
held() { q "$1" "$2" "$3" "$4" "$5" | jq -e "$6"; } # org user func json peer jq-test
R1="{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}"
check "peer0.org3 holds no P1 record (read by Org1 User1, endorsed on peer0.org3 alone)" not_held org1 User1 GetRecord "$R1" peer0.org3
check "peer0.org3 holds no P1 key (read by Org2 User1 on peer0.org3)" not_held org2 User1 GetPhaseKey "{\"project\":\"$P\",\"phase\":\"P1\"}" peer0.org3
check "peer0.org1 holds no P2 record (read by Org2 User1 on peer0.org1)" not_held org2 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P2\",\"id\":\"r2\"}" peer0.org1
check "peer0.org3's store holds nothing of P1 in Org1's or Org2's collection" \
  empty_on "$(count org1 User1 P1 Org1MSP peer0.org3)" "$(count org1 User1 P1 Org2MSP peer0.org3)"
check "  … while peer0.org1 holds Org1's copy" some_on "$(count org1 User1 P1 Org1MSP peer0.org1)"
check "  … and peer0.org2 Org2's" some_on "$(count org1 User1 P1 Org2MSP peer0.org2)"
# An implicit collection is not member-only: the peer lets any client of the channel read it through
# the chaincode. So keeping P1 from Org3's clients is the chaincode's own check of the caller: it
# refuses them P1's record there, and even a count of what Org1's copy holds.
check "the chaincode refuses Org3's client P1's record on peer0.org1" refused "forbidden: .*not a participant" q org3 User1 GetRecord "$R1" peer0.org1
check "  … and a count of Org1's copy of P1 (PhaseHoldings checks participation)" refused "forbidden: .*not a participant" \
  q org3 User1 PhaseHoldings "{\"project\":\"$P\",\"phase\":\"P1\",\"collection\":\"_implicit_org_Org1MSP\"}" peer0.org1
check "  … while Org3 counts its own org's copy (none of P1)" empty_on "$(count org3 User1 P1 Org3MSP peer0.org3)"
# The same read on a member peer finds the data: the refusals above are the peer's, not the caller's.
check "peer0.org2 holds P1's record (the same read on a member peer)" held org1 User1 GetRecord "$R1" peer0.org2 '.document.spec == 1'
check "Org3 Admin is refused on P1 too" refused "forbidden" q org3 Admin GetRecord "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}"

# What a client of a member org gets from its own peer besides the chaincode: DeliverWithPrivateData
# (the official Node client's getBlockAndPrivateDataEvents) hands out, with each block, the private
# writes of every collection the caller's org may see, whatever the chaincode's participants say.
# The channel's ACL event/Block (configtx.yaml) lets only org admins use it; a client identity, in a
# phase or excluded from it, gets none of it.
M=$P-secret
check "Org1 User1 writes a marked record on P3 {Org1 User1 only}" ok_inv org1 User1 "org1" PutRecord "{\"project\":\"$P\",\"phase\":\"P3\"}" \
  "{\"record_id\":\"$(b64 "$M-rec")\",\"record\":\"$(b64 "{\"note\":\"$M-doc\"}")\"}"
deliver() { # org user: DeliverWithPrivateData from the org's first peer over this suite's blocks
  local org=$1 user=$2 dir
  dir=$(org_dir "$org")/users/$2@$(org_domain "$org")/msp
  node "$HERE/fabric-client/deliver.mjs" "127.0.0.1:$(peer_port "$(org_peer "$org")")" "$(peer_dir "$(org_peer "$org")")/tls/ca.crt" \
    "$(org_msp "$org")" "$dir/signcerts/"*.pem "$dir/keystore/"*_sk "$CHANNEL" "$first_block" "$(peer_height "$(org_peer "$org")" "$CHANNEL")" \
    "$M-rec" "$M-doc" "${KEY[P3]}"
}
refused_deliver() { local out; out=$(deliver "$@"); jq -e '.refused and .private_writes == 0 and (.found | length) == 0' <<<"$out" >/dev/null || { echo "$out"; return 1; }; }
check "Org1 User2 (excluded from P3) gets no private data from peer0.org1 (Node client, DeliverWithPrivateData)" refused_deliver org1 User2
check "  … nor does Org1 User1, P3's participant (it reads P3 through the chaincode)" refused_deliver org1 User1
check "  … nor Org2 User1" refused_deliver org2 User1
admin_gets() { local out; out=$(deliver org1 Admin); jq -e '(.refused | not) and .private_writes > 0 and (.found | index("'"$M-doc"'"))' <<<"$out" >/dev/null || { echo "$out"; return 1; }; }
check "Org1's admin still gets P3's record that way (a member org's admin reads its own peer: docs/security.md)" admin_gets

# What a block confirms: every org keeps every block, and a block carries the SHA-256 of each
# private key and value. A blinded phase names its items by a keyed hash and salts every value, so
# recomputing the hashes from every public fact plus the true ids and documents finds nothing;
# the phase key's own key (public facts only) and value (random) are the check that the
# recomputation itself works.
check "Org2 writes r1 again (version 1 moves to its own key)" ok_inv org2 User1 "org1 org2" PutRecord "{\"project\":\"$P\",\"phase\":\"P1\"}" "{\"record_id\":\"$(b64 r1)\",\"record\":\"$(b64 '{"spec":2}')\"}"
guesses() { # the guesses of someone who knows the ids and documents, as JSON
  local recs changes r
  recs=$(mktemp) changes=$(mktemp)
  q org1 User1 RecordHistory "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"r1\"}" | jq -c '.items[]' >"$recs"
  q org1 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P3\",\"id\":\"$M-rec\"}" >>"$recs"
  q org1 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P3\",\"id\":\"r3\"}" >>"$recs"
  while read -r r; do
    q org1 User1 GetChange "$(jq -c '{project, phase, tx_id}' <<<"$r")" >>"$changes"
  done <"$recs"
  P=$P K1=${KEY[P1]} python3 - "$recs" "$changes" <<'PY'
import base64, json, os, sys
P = os.environ["P"]
def key(t, *a): return "\0" + t + "\0" + "".join(x + "\0" for x in a)
out = [{"what": "control: P1 key v1's key", "key": key("svcflow.phase_key", P, "P1", "000001")},
       {"what": "control: P1 key v1's value", "value_b64": os.environ["K1"]}]
for line in open(sys.argv[1]):
    line = line.rstrip("\n"); r = json.loads(line); ph, i, v = r["phase"], r["id"], r["version"]
    out += [{"what": f"{ph}/{i} key", "key": key("svcflow.record", P, ph, i)},
            {"what": f"{ph}/{i} v{v} as a version key", "key": key("svcflow.record_version", P, ph, i, f"{v:012}")},
            {"what": f"{ph}/{i} v{v} value", "value": line},
            {"what": f"{ph}/{i} v{v} change key", "key": key("svcflow.change", P, ph, r["tx_id"])}]
for line in open(sys.argv[2]):
    out.append({"what": "change value " + line.strip()[:60], "value": line.rstrip("\n")})
print(json.dumps(out))
PY
  rm -f "$recs" "$changes"
}
blocks=$(mktemp -d)
check "Org3 fetches and decodes this suite's blocks" fetch_blocks "$first_block" "$(peer_height peer0.org3 "$CHANNEL")" "$blocks"
no_guess_matches() {
  local g out
  g=$(mktemp); guesses >"$g"
  out=$(python3 "$HERE/guess_hashes.py" "$blocks" "$g"); rm -f "$g"
  jq -e '.hashed_writes > 10 and .guesses > 12 and .matches == ["control: P1 key v1'"'"'s key", "control: P1 key v1'"'"'s value"]' <<<"$out" >/dev/null || { echo "$out"; return 1; }
}
check "no record id, document, version or change is confirmed by a block's hashes (only the controls match)" no_guess_matches
rm -rf "$blocks"

# Public data: readable by all.
for o in org1 org2 org3; do
  check "$o: project" eval "q $o User1 GetProject '{\"id\":\"$P\"}' | jq -e '.owner.msp_id == \"Org1MSP\"'"
  check "$o: phases" eval "q $o User1 ListPhases '{\"project\":\"$P\"}' | jq -e 'length == 3'"
done

# Bad input: clear errors, nothing changes.
state() { q org1 User1 ListPhases "{\"project\":\"$P\"}"; q org2 User1 ListRecords "{\"project\":\"$P\",\"phase\":\"P1\"}"; }
s0=$(state)
check "malformed JSON argument" refused "bad_request" inv org1 User1 "org1 org2" CreateProject '{"id":'
check "missing transient record" refused "bad_request: the record document must come in the transient map" inv org2 User1 "org1 org2" PutRecord "{\"project\":\"$P\",\"phase\":\"P1\"}" "{\"record_id\":\"$(b64 r1)\"}"
check "record that is not JSON" refused "bad_request: transient record is not JSON" inv org2 User1 "org1 org2" PutRecord "{\"project\":\"$P\",\"phase\":\"P1\"}" "{\"record_id\":\"$(b64 r1)\",\"record\":\"$(b64 '{nope')\"}"
check "unknown project" refused "not_found" q org1 User1 GetProject '{"id":"no-such-project"}'
check "unknown phase" refused "not_found" q org1 User1 ListRecords "{\"project\":\"$P\",\"phase\":\"nope\"}"
check "unknown record" refused "not_found" q org2 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P1\",\"id\":\"nope\"}"
check "duplicate project id" refused "conflict: project $P already exists" inv org1 User1 "org1 org2" CreateProject "{\"id\":\"$P\",\"name\":\"again\"}"
check "duplicate phase id" refused "conflict" inv org1 User1 "org1 org2" AddPhase "{\"project\":\"$P\",\"id\":\"P1\",\"name\":\"x\",\"participants\":[{\"msp_id\":\"Org1MSP\"}]}"
check "non-participant write (Org3 on P1)" refused "forbidden" inv org3 User1 "org1 org2" PutRecord "{\"project\":\"$P\",\"phase\":\"P1\"}" "{\"record_id\":\"$(b64 r1)\",\"record\":\"$(b64 '{}')\"}"
check "a non-owner manages phases" refused "forbidden" inv org2 User1 "org1 org2" ActivatePhase "{\"project\":\"$P\",\"phase\":\"P1\"}"
check "state unchanged by all refusals" same "$s0" "$(state)"
check "close P2" ok_inv org1 User1 "org1 org2" ClosePhase "{\"project\":\"$P\",\"phase\":\"P2\"}"
s1=$(q org2 User1 ListRecords "{\"project\":\"$P\",\"phase\":\"P2\"}")
check "write to the closed P2 refused" refused "conflict: phase P2 is closed" inv org3 User1 "org2 org3" PutRecord "{\"project\":\"$P\",\"phase\":\"P2\"}" "{\"record_id\":\"$(b64 r2)\",\"record\":\"$(b64 '{"x":false}')\"}"
check "P2's records unchanged" same "$s1" "$(q org2 User1 ListRecords "{\"project\":\"$P\",\"phase\":\"P2\"}")"
check "an MSP not on the channel is named by its field" refused "participants\[1\].msp_id: Org4MSP is not an org of this channel" inv org1 User1 "org1 org2" AddPhase "{\"project\":\"$P\",\"id\":\"P9\",\"name\":\"x\",\"participants\":[{\"msp_id\":\"Org1MSP\"},{\"msp_id\":\"Org4MSP\"}]}"

# Phases keep their data in each org's implicit collection: a new network's definition names no
# collections (one deployed by older scripts keeps its own), addCollection is gone and says why,
# and a deployCC with nothing new commits nothing.
d0=$(committed_definition)
no_collections() { jq -e '(.collections.config // []) == []' <<<"$d0" >/dev/null || { echo "$d0"; return 1; }; }
if [[ -f $CC_DIR/collections_config.json ]]; then
  skip "the definition names no collections" "this network was deployed with collections by older scripts"
else
  check "the definition names no collections" no_collections
fi
check "addCollection is refused, naming why" refused "collections per org set" "$NET" addCollection Org1MSP,Org2MSP
check "deployCC again commits nothing" says "already committed" "$NET" deployCC
check "… and the definition is unchanged" same "$d0" "$(committed_definition)"
finish chaincode
