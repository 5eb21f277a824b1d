#!/usr/bin/env bash
# Live test of an existing network across the change to per-org copies (issue 21), as an operator
# upgrades one: a checkout of an older commit (SVCFLOW_UPGRADE_FROM, by default be18b0d: one
# collection per org set in the chaincode definition) brings its network up and writes a phase;
# the same checkout then moves to this commit (HEAD: what is committed) and comes up again on the
# same state. The phase keeps working in its org set's collection, and a PATCH with the same
# participants moves it to per-org copies. Prints "upgrade: N passed, N failed, N skipped".
# About 4 minutes with warm caches, most of it building both commits.
#
# The older checkout is a git worktree under tests/out/ built into its own target dir
# ($CARGO_TARGET_DIR-upgrade, seeded from this one), so each run compiles only what changed. It
# stops this checkout's network first (they share ports) and its own at the end.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FROM=${SVCFLOW_UPGRADE_FROM:-be18b0d}
TO=$(git -C "$ROOT" rev-parse HEAD)
WT=$ROOT/tests/out/upgrade
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TARGET=$CARGO_TARGET_DIR-upgrade
export SVCFLOW_FABRIC_BIN=${SVCFLOW_FABRIC_BIN:-$ROOT/fabric-network/.bin}
TMP=$(mktemp -d)
P=up$(date +%s)
V=/v1/projects/$P

fail_setup() { echo "upgrade: 0 passed, 1 failed, 0 skipped ($1)"; exit 1; }
cleanup() {
  [[ -x $WT/fabric-network/network.sh ]] && "$WT/fabric-network/network.sh" down >/dev/null 2>&1
  git -C "$ROOT" worktree remove --force "$WT" >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT

"$ROOT/fabric-network/network.sh" down >/dev/null 2>&1
git -C "$ROOT" worktree remove --force "$WT" >/dev/null 2>&1
rm -rf "$WT"
git -C "$ROOT" worktree add --detach "$WT" "$FROM" >/dev/null 2>&1 || fail_setup "git worktree add $WT $FROM"
[[ -d $TARGET ]] || cp -a "$CARGO_TARGET_DIR" "$TARGET" 2>/dev/null || mkdir -p "$TARGET"
up() { # the worktree's network, built from what it has checked out
  (cd "$WT" && CARGO_TARGET_DIR=$TARGET fabric-network/network.sh up) >"$TMP/up.log" 2>&1 || { tail -20 "$TMP/up.log"; return 1; }
}
up || fail_setup "network.sh up at $FROM"

# The suite helpers of the older checkout: REST and peer-CLI calls against its network. Its
# network.sh builds into the worktree's target dir from here on, never into this checkout's.
export CARGO_TARGET_DIR=$TARGET
# shellcheck source=lib.sh
source "$WT/tests/lib.sh"
live_network upgrade >/dev/null

check "at $FROM: create project $P" expect 201 1 User1 POST /v1/projects -d "{\"id\":\"$P\",\"name\":\"Upgrade\"}"
check "at $FROM: add P1 {Org1, Org2}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P1\",\"name\":\"old\",\"participants\":$(participants 1 2)}"
check "  … in the collection of its org set" body_has '.collection == "col_Org1MSP_Org2MSP"'
check "at $FROM: Org2 puts r1" expect 201 2 User1 PUT "$V/phases/P1/records/r1" -d '{"v":1}'
check "at $FROM: Org1 updates r1" expect 200 1 User1 PUT "$V/phases/P1/records/r1" -d '{"v":2}'
# block_acl: only org admins take blocks from a peer (the channel's event/Block ACL, issue 22).
block_acl() {
  (peer_cli_env org1 && "$BIN/peer" channel fetch config "$TMP/cfg.pb" -o "$(orderer_address)" -c "$CHANNEL" --tls --cafile "$ORDERER_CA") >/dev/null 2>&1 || return 1
  "$BIN/configtxlator" proto_decode --input "$TMP/cfg.pb" --type common.Block |
    jq -e '.data.data[0].payload.data.config.channel_group.groups.Application.values.ACLs.value.acls["event/Block"].policy_ref == "/Channel/Application/BlockReaders"' >/dev/null
}
no_block_acl() { ! block_acl; }
check "at $FROM: any client of the channel may take blocks from a peer (no event/Block ACL)" no_block_acl

git -C "$WT" checkout --detach --quiet "$TO" || fail_setup "git checkout $TO"
check "the same checkout, now at $(git -C "$WT" rev-parse --short HEAD), comes up on the same state" up
check "  … and its channel now lets only org admins take blocks from a peer (a config update by up)" block_acl
# From here on the helpers of the upgraded checkout (its gateway takes JSON bodies only as
# application/json); the counts so far stay.
counts=("$PASSED" "$FAILED" "$SKIPPED") failures=("${FAILURES[@]}")
# shellcheck source=lib.sh
source "$WT/tests/lib.sh"
PASSED=${counts[0]} FAILED=${counts[1]} SKIPPED=${counts[2]} FAILURES=("${failures[@]}")
check "  … its definition still has the org-set collections (Fabric never drops one)" \
  bash -c "grep -q collections_config.json <<<\"\$(ls '$STATE/chaincode')\""
check "the older phase reads as before" expect 200 2 User1 GET "$V/phases/P1/records/r1/history"
check "  … both versions" body_has '[.items[].document.v] == [1, 2]'
check "  … and keeps its collection" expect 200 1 User1 GET "$V/phases/P1"
check "  … col_Org1MSP_Org2MSP" body_has '.collection == "col_Org1MSP_Org2MSP"'
check "it is written as before" expect 201 2 User1 PUT "$V/phases/P1/records/r2" -d '{"v":1}'
check "a new phase gets per-org copies" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P2\",\"name\":\"new\",\"participants\":$(participants 1 2)}"
check "  … _implicit_org_*" body_has '.collection == "_implicit_org_*"'
check "PATCH with the same participants moves P1 to per-org copies → 202" expect 202 1 User1 PATCH "$V/phases/P1" -d "{\"participants\":$(participants 1 2)}"
ended() { req 1 User1 GET "$V/phases/P1/migration" >/dev/null && jq -e '.migrating == false and .driving == false' "$TMP/body" >/dev/null; }
check "the move ends" eventually 120 ended
check "P1 is a phase of per-org copies now, same participants and key" expect 200 2 User1 GET "$V/phases/P1"
check "  … _implicit_org_*, key version 1" body_has '.collection == "_implicit_org_*" and (.participants | length == 2) and .key_version == 1'
check "Org2 reads the whole history from its copy" expect 200 2 User1 GET "$V/phases/P1/records/r1/history"
check "  … both versions" body_has '[.items[].document.v] == [1, 2]'
holds() { q "$1" User1 PhaseHoldings "{\"project\":\"$P\",\"phase\":\"P1\",\"collection\":\"$2\"}" "$3" | jq -r .values; }
is() { [[ $1 == "$2" ]] || { echo "got $1, wanted $2"; return 1; }; }
# r1 and its superseded version, r2, three changes, the phase key the gateway set.
check "the old collection holds nothing of P1 (purged)" is "$(holds org1 col_Org1MSP_Org2MSP peer0.org1)" 0
check "each org's copy holds all 7 values" is "$(holds org1 _implicit_org_Org1MSP peer0.org1) $(holds org2 _implicit_org_Org2MSP peer0.org2)" "7 7"
check "P1 is written again" expect 201 1 User1 PUT "$V/phases/P1/records/r3" -d '{"v":1}'

finish upgrade
