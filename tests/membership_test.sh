#!/usr/bin/env bash
# Live test of phase membership changes (issues 11, 21) through REST and the peer CLI, on the real
# network and store. Each participant org keeps its copy of a phase in its implicit collection
# (_implicit_org_<MSP>): an org joins an active phase, receives a copy and reads the history while
# the other copies never move; an org leaves, is out at once, and its peer keeps nothing (its copy
# purged), nor can it open a file uploaded after it left, even holding the object and the old key;
# writes go on while a leaver's copy is purged and wait with 409 while a joiner's is filled; a
# large copy goes in many batches and resumes; the CLI alone fills a copy; a private write needs a
# peer of every participant org; and no block carries any of it. Prints "membership: N passed, N failed, N skipped". Its own project id: reruns are fine.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network membership
P=mb$(date +%s)
V=/v1/projects/$P
M=mm$(date +%s%N)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
first_block=$(peer_height peer0.org1 "$CHANNEL")

# ended ORG USER PHASE: the phase's migration is over and nobody is moving data any more.
ended() { req "$1" "$2" GET "$V/phases/$3/migration" >/dev/null && jq -e '.migrating == false and .driving == false' "$TMP/body" >/dev/null; }
# holds ORG USER PEER PHASE COLLECTION: how many of the phase's values the collection has on PEER.
copy() { echo "_implicit_org_Org$1MSP"; } # org number -> the collection of its copies
holds() { q "$1" "$2" PhaseHoldings "{\"project\":\"$P\",\"phase\":\"$4\",\"collection\":\"$5\"}" "$3" | jq -r .values; }
holds_is() { local want=$1 got; shift; got=$(holds "$@"); [[ $got == "$want" ]] || { echo "holds $got, wanted $want"; return 1; }; }
holds_some() { local got; got=$(holds "$@"); [[ $got =~ ^[1-9][0-9]*$ ]] || { echo "holds '$got'"; return 1; }; }
key_of() { q "$1" "$2" GetPhaseKey "{\"project\":\"$P\",\"phase\":\"$3\"${4:+,\"version\":$4}}" | jq -r .key; } # org user phase [version]
object_of() { req 1 User1 GET "$V/phases/$1/files/$2" >/dev/null && jq -r .object_key "$TMP/body"; }      # phase file
# opens KEY OBJECT-KEY: the stored object decrypts with KEY (outside any gateway).
fails() { ! "$@"; }
opens() { store_get "$2" "$TMP/sealed" && python3 "$HERE/unseal.py" "$1" "$TMP/sealed" >"$TMP/plain"; }

# --- an org joins an active phase ------------------------------------------------------------
check "create project $P with P1 {Org1, Org2}" expect 201 1 User1 POST /v1/projects -d "{\"id\":\"$P\",\"name\":\"Membership\"}"
check "add P1 {Org1, Org2}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P1\",\"name\":\"design\",\"participants\":$(participants 1 2)}"
check "Org2 puts $M-spec (version 1)" expect 201 2 User1 PUT "$V/phases/P1/records/$M-spec" -d "{\"doc\":\"$M-doc1\"}"
check "Org1 updates it (version 2)" expect 200 1 User1 PUT "$V/phases/P1/records/$M-spec" -d "{\"doc\":\"$M-doc2\"}"
printf '%s-before' "$M" >"$TMP/before.txt"
check "Org1 uploads $M-before.txt" expect 201 1 User1 POST "$V/phases/P1/files?name=$M-before.txt&id=$M-fb" --data-binary @"$TMP/before.txt"
check "  … sealed under key version 1" body_has '.file.key_version == 1'
sha_before=$(jq -r .file.sha256 "$TMP/body")
check "activate P1" expect 200 1 User1 POST "$V/phases/P1/activate"
check "Org3 adds nothing yet: refused on P1 → 403" expect 403 3 User1 GET "$V/phases/P1/records/$M-spec"
org1_before=$(holds org1 User1 peer0.org1 P1 "$(copy 1)")
check "Org1 proposes Org3 for the active P1 → 202" expect 202 1 User1 PATCH "$V/phases/P1" -d "{\"participants\":$(participants 1 2 3)}"
check "  … which waits for Org2's approval (P1 holds Org2's data)" header_is x-approval pending
check "  … named in the phase's proposal; nothing changed yet" body_has '.proposal.needs == ["Org1MSP","Org2MSP"] and .proposal.approvals == ["Org1MSP"] and (.participants | length == 2) and (has("migration") | not)'
check "Org3 is still refused on P1 → 403" expect 403 3 User1 GET "$V/phases/P1/records/$M-spec"
check "Org3 cannot approve its own joining → 403" expect 403 3 User1 POST "$V/phases/P1/approval"
check "Org2 approves → 202" expect 202 2 User1 POST "$V/phases/P1/approval"
check "  … Org2's gateway fills Org3's copy" header_is x-migration moving
check "  … Location names the migration" header_is location "$V/phases/P1/migration"
check "the migration ends" eventually 120 ended 2 User1 P1
check "Org3 takes part in P1, key unchanged (nobody left)" expect 200 3 User1 GET "$V/phases/P1"
check "  … per-org copies, three participants, key version 1" body_has '.collection == "_implicit_org_*" and (.participants | length == 3) and .key_version == 1 and (has("migration") | not)'
check "Org3 reads the history from before it joined" expect 200 3 User1 GET "$V/phases/P1/records/$M-spec/history"
check "  … both versions" body_has "[.items[].document.doc] == [\"$M-doc1\",\"$M-doc2\"]"
# On RGW the file lies in Org1's bucket, whose read policy Org1's gateway brings in step with the
# participants within storage.s3_access_sync_ms (the change was made by Org2's approval).
downloads_fb() { expect 200 3 User1 GET "$V/phases/P1/files/$M-fb/content" >/dev/null; }
check "Org3 downloads the file from before it joined" eventually 70 downloads_fb
check "  … the same bytes" bash -c "[[ \$(sha256sum <'$TMP/body' | cut -d' ' -f1) == $sha_before ]]"
check "peer0.org3 holds its copy of the phase now (its own read)" holds_is "$org1_before" org3 User1 peer0.org3 P1 "$(copy 3)"
check "Org1's copy never moved: as many values as before the join" holds_is "$org1_before" org1 User1 peer0.org1 P1 "$(copy 1)"
check "peer0.org1 holds nothing of Org3's copy (an org's collection reaches its peers only)" holds_is 0 org1 User1 peer0.org1 P1 "$(copy 3)"
old_key=$(key_of org3 User1 P1)
check "Org3 reads the key (version 1) while a participant, and keeps it" bash -c "[[ -n '$old_key' && '$old_key' != null ]]"

# --- an org leaves -----------------------------------------------------------------------------
check "Org3 leaves P1 → 202 (its copy is purged)" expect 202 1 User1 PATCH "$V/phases/P1" -d "{\"participants\":$(participants 1 2)}"
check "  … out at once: two participants, key version 2, Org3's copy to purge" body_has '(.participants | length == 2) and .key_version == 2 and .migration.purge == ["Org3MSP"]'
check "Org3 is refused on P1's records → 403" expect 403 3 User1 GET "$V/phases/P1/records/$M-spec"
check "the purge ends" eventually 120 ended 1 User1 P1
check "Org3 is refused on P1's files → 403" expect 403 3 User1 GET "$V/phases/P1/files/$M-fb/content"
check "peer0.org3 holds nothing of P1: its own copy, read there, is empty" holds_is 0 org3 User1 peer0.org3 P1 "$(copy 3)"
check "  … while Org1's and Org2's copies are whole" holds_is "$org1_before" org2 User1 peer0.org2 P1 "$(copy 2)"
check "Org2 still reads the whole history" expect 200 2 User1 GET "$V/phases/P1/records/$M-spec/history"
check "  … both versions" body_has '.items | length == 2'
printf '%s-after' "$M" >"$TMP/after.txt"
check "Org2 uploads $M-after.txt after Org3 left" expect 201 2 User1 POST "$V/phases/P1/files?name=$M-after.txt&id=$M-fa" --data-binary @"$TMP/after.txt"
check "  … sealed under key version 2" body_has '.file.key_version == 2'
check "Org3 cannot get key version 2" refused forbidden key_of org3 User1 P1 2
check "Org3's old key opens the object stored before it left (until resealed)" opens "$old_key" "$(object_of P1 "$M-fb")"
check "Org3's old key cannot open the object uploaded after it left" fails opens "$old_key" "$(object_of P1 "$M-fa")"
fb_old=$(object_of P1 "$M-fb")
check "reseal P1's files under version 2" expect 200 2 User1 POST "$V/phases/P1/reseal"
check "  … the file from before" body_has ".key_version == 2 and .resealed == [\"$M-fb\"]"
if on_rgw; then
  # In RGW the old object stays in its owner's bucket (under retention: no one may delete it), but
  # the bucket's policy left Org3's user out with its removal.
  check "  … its old object is out of Org3's reach (its RGW user may not read it)" fails s3_as org3 GET "$fb_old" -o /dev/null
else
  check "  … its old object is gone from the store" fails store_has "$fb_old"
fi
check "Org3's old key no longer opens that file's object" fails opens "$old_key" "$(object_of P1 "$M-fb")"
check "Org1 still downloads it, verified against its anchor" expect 200 1 User1 GET "$V/phases/P1/files/$M-fb/verify"
check "  … verified, under key version 2" body_has '.verified == true and .file.key_version == 2'

# --- a leaver's purge holds nothing up; a joiner's copy holds writes --------------------------------
check "add P2 {Org2, Org3} (Org1 manages it, is not in it)" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P2\",\"name\":\"build\",\"participants\":$(participants 2 3)}"
check "Org3 puts $M-plan in P2" expect 201 3 User1 PUT "$V/phases/P2/records/$M-plan" -d '{"steps":3}'
check "Org3 leaves P2 → 202; its manager cannot drive the purge" expect 202 1 User1 PATCH "$V/phases/P2" -d "{\"participants\":$(participants 2)}"
check "  … so it waits for a participant" header_is x-migration pending
check "Org2 writes to P2 meanwhile → 201 (a purge holds no write)" expect 201 2 User1 PUT "$V/phases/P2/records/x" -d '{}'
check "Org3 is out at once" expect 403 3 User1 GET "$V/phases/P2/records/$M-plan"
check "the status names the copy to purge" expect 200 2 User1 GET "$V/phases/P2/migration"
check "  … migrating, not driven, Org3's copy" body_has '.migrating == true and .driving == false and .migration.purge == ["Org3MSP"]'
check "Org3 (gone) may not drive it → 403" expect 403 3 User1 POST "$V/phases/P2/migration"
check "Org2 drives it → 202" expect 202 2 User1 POST "$V/phases/P2/migration"
check "the purge ends" eventually 120 ended 2 User1 P2
check "peer0.org3 holds nothing of P2" holds_is 0 org3 User1 peer0.org3 P2 "$(copy 3)"
check "Org3 back into P2 → 202, waiting for Org2's approval (its manager is no participant)" expect 202 1 User1 PATCH "$V/phases/P2" -d "{\"participants\":$(participants 2 3)}"
check "  … X-Approval: pending, needing Org2 alone" body_has '.proposal.needs == ["Org2MSP"] and .proposal.approvals == []'
check "Org2 writes meanwhile → 201" expect 201 2 User1 PUT "$V/phases/P2/records/w" -d '{}'
check "Org2 approves → 202, its gateway fills Org3's copy" expect 202 2 User1 POST "$V/phases/P2/approval"
check "  … X-Migration: moving" header_is x-migration moving
check "a second approval → 409" expect 409 2 User1 POST "$V/phases/P2/approval"
check "the copy is filled" eventually 120 ended 2 User1 P2
check "Org3 reads what was written while it was out" expect 200 3 User1 GET "$V/phases/P2/records/x"
check "Org3 writes again" expect 201 3 User1 PUT "$V/phases/P2/records/y" -d '{}'
check "disjoint org sets → 409 (add first, then remove)" expect 409 1 User1 PATCH "$V/phases/P2" -d "{\"participants\":$(participants 1)}"
check "  … saying so" body_has '.message | test("add the new orgs first")'
check "an unknown MSP → 400 naming the field" expect 400 1 User1 PATCH "$V/phases/P2" -d '{"participants":[{"msp_id":"Org2MSP"},{"msp_id":"Org9MSP"}]}'
check "  … participants[1].msp_id" body_has '.message | contains("participants[1].msp_id: Org9MSP is not an org of this channel")'

# --- a large phase moves in many batches -------------------------------------------------------
N=${SVCFLOW_MIGRATION_RECORDS:-1200}
check "add P4 {Org1, Org2}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P4\",\"name\":\"bulk\",\"participants\":$(participants 1 2)}"
put_many() {
  local i
  for ((i = 1; i <= N; i++)); do
    gwcurl 1 User1 "$V/phases/P4/records/r$i" -sS -o /dev/null -w '%{http_code}\n' -X PUT -d "{\"n\":$i}" >>"$TMP/codes" &
    ((i % 16 == 0)) && wait
  done
  wait
  [[ $(grep -c '^201$' "$TMP/codes") == "$N" ]] || { sort "$TMP/codes" | uniq -c; return 1; }
}
check "put $N records in P4 (16 at a time)" put_many
check "Org1 proposes Org3 for P4 → 202" expect 202 1 User1 PATCH "$V/phases/P4" -d "{\"participants\":$(participants 1 2 3)}"
check "Org2 approves → 202, its gateway fills Org3's copy" expect 202 2 User1 POST "$V/phases/P4/approval"
moving() { req 1 User1 GET "$V/phases/P4/migration" >/dev/null && jq -e '.migrating and .migration.moved > 0' "$TMP/body" >/dev/null; }
check "the first batch moves" eventually 60 moving
kill_gw() { kill -KILL "$(cat "$PIDS/gateway.org2.pid")" && gw_start org2 force && gw_wait_healthy org2; }
check "Org2's gateway is killed mid-migration and restarted" kill_gw
check "  … the phase is left half-moved, nobody moving it" expect 200 1 User1 GET "$V/phases/P4/migration"
check "  … some moved" body_has '.migrating and .driving == false and .migration.moved > 0'
check "a write to P4 while Org3's copy is filled → 201 (writes go on)" expect 201 2 User1 PUT "$V/phases/P4/records/y" -d '{}'
check "an update of a record the fill has passed → 200" expect 200 2 User1 PUT "$V/phases/P4/records/r1" -d '{"n":"again"}'
check "reads go on" expect 200 2 User1 GET "$V/phases/P4/records/r1"
check "  … the update" body_has '.version == 2 and .document.n == "again"'
# Org2 writes all along the rest of the fill (one record after another); every write must land.
writer() { local i=0; while [[ ! -e $TMP/stop-writer ]]; do i=$((i + 1)); gwcurl 2 User1 "$V/phases/P4/records/w$i" -sS -o /dev/null -w '%{http_code}\n' -X PUT -d "{\"i\":$i}" >>"$TMP/writes"; done; }
rm -f "$TMP/stop-writer" "$TMP/writes"
writer &
writer_pid=$!
check "Org1 resumes it → 202" expect 202 1 User1 POST "$V/phases/P4/migration"
check "the migration ends" eventually 600 ended 1 User1 P4
touch "$TMP/stop-writer"
wait "$writer_pid"
W=$(wc -l <"$TMP/writes")
all_written() { [[ $W -gt 0 && $(grep -c '^201$' "$TMP/writes") == "$W" ]] || { sort "$TMP/writes" | uniq -c; return 1; }; }
check "every one of Org2's $W writes during the fill went through (201)" all_written
# Each record once with its change, r1's superseded version and its second change, the key.
check "peer0.org3 holds every value of P4, those written during the fill too" holds_is $((2 * (N + 1 + W) + 3)) org3 User1 peer0.org3 P4 "$(copy 3)"
check "Org1's copy holds the same" holds_is $((2 * (N + 1 + W) + 3)) org1 User1 peer0.org1 P4 "$(copy 1)"
check "Org3 reads the last record" expect 200 3 User1 GET "$V/phases/P4/records/r$N"
check "Org3 reads r1 as updated during the fill" expect 200 3 User1 GET "$V/phases/P4/records/r1"
check "  … version 2" body_has '.version == 2 and .document.n == "again"'
check "Org3 reads the last record written during the fill" expect 200 3 User1 GET "$V/phases/P4/records/w$W"

# --- the peer CLI alone ------------------------------------------------------------------------
b64() { printf '%s' "$1" | base64 -w0; }
check "CLI: add P3 {Org1}" ok_inv org1 User1 "org1 org2" AddPhase "{\"project\":\"$P\",\"id\":\"P3\",\"name\":\"audit\",\"participants\":$(participants 1)}"
check "CLI: Org1 sets P3's key (its items' names and salts derive from it)" ok_inv org1 User1 "org1" SetPhaseKey "{\"project\":\"$P\",\"phase\":\"P3\"}" \
  "{\"phase_key\":\"$(head -c 32 /dev/urandom | base64 -w0)\"}"
check "CLI: Org1 puts $M-cli" ok_inv org1 User1 "org1" PutRecord "{\"project\":\"$P\",\"phase\":\"P3\"}" \
  "{\"record_id\":\"$(b64 "$M-cli")\",\"record\":\"$(b64 "{\"doc\":\"$M-clidoc\"}")\"}"
check "CLI: Org2 joins P3 (UpdatePhase)" ok_inv org1 User1 "org1 org2" UpdatePhase "{\"project\":\"$P\",\"id\":\"P3\",\"participants\":$(participants 1 2)}"
batch=$(q org1 User1 ReadMigrationBatch "{\"project\":\"$P\",\"phase\":\"P3\"}")
check "CLI: read the batch (an evaluation: never in a block): the record, its change and the key" jq -e '.last == true and (.items | length == 3)' <<<"$batch"
# A batch must start where the migration stands, list keys the phase holds in order, and list
# the keys the chaincode can name itself (the phase's key versions) that its range covers.
still_filling() { q org1 User1 ListPhases "{\"project\":\"$P\"}" | jq -e '.[] | select(.id == "P3") | .migration != null and (.participants | length == 1)' >/dev/null; }
check "CLI: an empty batch marked last is refused" refused "leaves out a value its range covers" inv org1 User1 "org1 org2" MigratePhase "{\"project\":\"$P\",\"phase\":\"P3\"}" \
  "{\"batch\":\"$(b64 '{"items":[],"last":true}')\"}"
check "  … and ends nothing: Org2 takes no part yet" still_filling
check "CLI: one that starts past where the migration stands is refused" refused "does not start where" inv org1 User1 "org1 org2" MigratePhase "{\"project\":\"$P\",\"phase\":\"P3\"}" \
  "{\"batch\":\"$(b64 "$(jq -c '.after = .items[0].key | .items |= .[1:]' <<<"$batch")")\"}"
check "CLI: walk the keys once (MigratePhase, endorsed by both orgs)" ok_inv org1 User1 "org1 org2" MigratePhase "{\"project\":\"$P\",\"phase\":\"P3\"}" \
  "{\"batch\":\"$(b64 "$batch")\"}"
check "  … Org2 takes no part yet: the keys written meanwhile come next" still_filling
check "CLI: Org1 writes meanwhile (endorsed by Org1 alone, the phase's participant)" ok_inv org1 User1 "org1" PutRecord "{\"project\":\"$P\",\"phase\":\"P3\"}" \
  "{\"record_id\":\"$(b64 "$M-cli")\",\"record\":\"$(b64 "{\"doc\":\"$M-clidoc\"}")\"}"
recheck=$(q org1 User1 ReadMigrationBatch "{\"project\":\"$P\",\"phase\":\"P3\"}")
check "CLI: the recheck's batch is that write: the record, its superseded version, its change" jq -e '.last == true and (.items | length == 3)' <<<"$recheck"
check "CLI: fill Org2's copy to the end (the recheck, its seal, the last step)" cli_fill org1 User1 "org1 org2" "$P" P3
cli_read() { q org2 User1 GetRecord "{\"project\":\"$P\",\"phase\":\"P3\",\"id\":\"$M-cli\"}" | jq -e ".document.doc == \"$M-clidoc\""; }
check "CLI: Org2 reads the record" eventually 10 cli_read
# invalid ORG USER "ORGS" FUNC JSON TRANSIENT: ordered, but committed invalid for its endorsements.
invalid() { local out; out=$(inv "$@"); grep -q 'ENDORSEMENT_POLICY_FAILURE' <<<"$out" || { echo "$out"; return 1; }; }
pr() { echo "{\"record_id\":\"$(b64 "$M-$1")\",\"record\":\"$(b64 '{"x":1}')\"}"; }
check "CLI: a write to P3 {Org1, Org2} endorsed by Org1's peer alone commits invalid (the peer's rule)" \
  invalid org1 User1 "org1" PutRecord "{\"project\":\"$P\",\"phase\":\"P3\"}" "$(pr one)"
check "CLI: endorsed by a peer of each participant org, it commits" ok_inv org1 User1 "org1 org2" PutRecord "{\"project\":\"$P\",\"phase\":\"P3\"}" "$(pr two)"

# --- a leaver whose peer and chaincode are stopped holds nothing up (issue 22) ----------------------
check "add P5 {Org1, Org2, Org3}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P5\",\"name\":\"review\",\"participants\":$(participants 1 2 3)}"
check "Org3 puts $M-gone in P5" expect 201 3 User1 PUT "$V/phases/P5/records/$M-gone" -d '{"v":1}'
stop_org3() { kill -KILL "$(cat "$PIDS/peer0.org3.pid")" "$(cat "$PIDS/chaincode.org3.pid")" && sleep 1 && ! port_open "$(peer_port peer0.org3)"; }
check "peer0.org3 and Org3's chaincode server are stopped (SIGKILL)" stop_org3
check "Org1 removes Org3 from P5 → 202" expect 202 1 User1 PATCH "$V/phases/P5" -d "{\"participants\":$(participants 1 2)}"
check "  … out at once: two participants, Org3's copy to purge" body_has '(.participants | length == 2) and .migration.purge == ["Org3MSP"]'
check "Org2 writes to P5 at once → 201" expect 201 2 User1 PUT "$V/phases/P5/records/$M-after" -d '{"v":2}'
check "Org1 updates Org3's record → 200" expect 200 1 User1 PUT "$V/phases/P5/records/$M-gone" -d '{"v":3}'
pending() { req 1 User1 GET "$V/phases/P5/migration" >/dev/null && jq -e '.migrating and .driving == false and .migration.purge == ["Org3MSP"]' "$TMP/body" >/dev/null; }
check "the purge is recorded as pending while Org3's peer is away (nobody can drive it)" eventually 90 pending
check "Org3's peer and chaincode server start again" "$NET" up
check "Org1 drives the purge → 202" expect 202 1 User1 POST "$V/phases/P5/migration"
check "the purge ends" eventually 120 ended 1 User1 P5
check "peer0.org3 holds nothing of P5" holds_is 0 org3 User1 peer0.org3 P5 "$(copy 3)"
check "Org1 reads both records" expect 200 1 User1 GET "$V/phases/P5/records?page_size=10"
check "  … two, the updated one at version 2" body_has "(.items | length == 2) and ([.items[] | select(.id == \"$M-gone\") | .version] == [2])"

# --- nothing of it in any block ------------------------------------------------------------------
blocks=$TMP/blocks
check "Org3 fetches and decodes every block of this suite" fetch_blocks "$first_block" "$(peer_height peer0.org3 "$CHANNEL")" "$blocks"
new_key=$(key_of org1 User1 P1)
check "no record id, document, file name or id, hash, object key or key (either version) in them" \
  no_private_bytes "$blocks" "$M-spec" "$M-doc1" "$M-doc2" "$M-before.txt" "$M-after.txt" "$M-fb" "$M-fa" "$M-cli" "$M-clidoc" "$M-plan" \
  "$sha_before" "$(object_of P1 "$M-fb")" "$fb_old" "$old_key" "$new_key"
raw_keys() { local k; for k in "$old_key" "$new_key"; do cat "$blocks"/*.pb | hex | grep -qi "$(base64 -d <<<"$k" | hex)" && { echo "a raw key is in a block"; return 1; }; done; return 0; }
check "  … nor the keys' raw bytes" raw_keys
check "  … while the blocks do carry the migrations' public facts" bash -c "grep -rlaF -- 'PhaseMigrated' '$blocks' >/dev/null"

finish membership
