#!/usr/bin/env bash
# Live test of who may touch the file store (issue 22, finding 3), on the real network and Ceph
# RGW: each org's gateway is configured with its own RGW user only (uid = MSP id, secret in a
# 0600 file) and stores what it uploads in a bucket of its own per phase, named and filled with
# random-looking names; the bucket's policy lets the phase's participant orgs read its objects and
# nothing more, so a non-member org can neither read, list, overwrite nor delete them, a removed
# org's reads end with its removal, and an anchored object's version is under COMPLIANCE
# retention, which not even the bucket's owner can lift. Objects anchored in the older shared
# bucket still download. Each probe outside the gateways is one boto3 request as one org's user
# (tests/s3_probe.py). Needs the RGW (fabric-network/ceph.sh up): without it this suite fails.
# Prints "storage: N passed, N failed, N skipped". Its own project id: reruns are fine.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network storage
P=st$(date +%s)
V=/v1/projects/$P
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
b64() { printf '%s' "$1" | base64 -w0; }
# probe ORG OP BUCKET [KEY [VERSION]]: one request as ORG's RGW user; allowed / refused (403) / other.
probe() { python3 "$HERE/s3_probe.py" "$STATE" "$@"; }
allowed() { probe "$@"; }
refused() { local out rc; out=$(probe "$@"); rc=$?; ((rc == 1)) || { echo "not refused (exit $rc): $out"; return 1; }; }
# A membership change answers 200, or 202 while a copy is filled or purged.
patched() { local got; got=$(req "$@"); [[ $got == 200 || $got == 202 ]] || { echo "status $got: $(head -c 400 "$TMP/body")"; return 1; }; }
no_download() { local got; got=$(req "$@"); [[ $got != 200 ]] || { echo "downloaded"; return 1; }; }
same_sha() { [[ $(sha256sum <"$TMP/body" | cut -d' ' -f1) == "$1" ]] || { echo "other bytes: $(head -c 200 "$TMP/body")"; return 1; }; }

if ! on_rgw; then
  check "the gateways store in Ceph RGW (run fabric-network/ceph.sh up before this suite)" false
  finish storage; exit 1
fi

# --- each gateway has its own org's credentials and no other ---------------------------------
own_creds() {
  local o access
  for o in "${ORGS[@]}"; do
    access=$(cat "$STATE/ceph/s3/$o.access")
    grep -qx "s3_access_key = \"$access\"" "$GW_DIR/$o/gateway.toml" || { echo "$o's gateway.toml has not its own access key"; return 1; }
    cmp -s "$STATE/ceph/s3/$o.secret" "$GW_DIR/$o/s3.secret" || { echo "$o's secret file is not its own"; return 1; }
    [[ $(stat -c %a "$GW_DIR/$o/s3.secret") == 600 && $(stat -c %a "$STATE/ceph/s3/$o.secret") == 600 ]] || { echo "$o's secret is not 0600"; return 1; }
    # No other org's key anywhere in its gateway's directory.
    local other
    for other in "${ORGS[@]}"; do
      [[ $other == "$o" ]] && continue
      ! grep -rqF -e "$(cat "$STATE/ceph/s3/$other.access")" -e "$(cat "$STATE/ceph/s3/$other.secret")" "$GW_DIR/$o" || { echo "$o's gateway holds $other's key"; return 1; }
    done
  done
}
check "each org's gateway holds its own RGW user's key (0600 secret file) and no other org's" own_creds
lax_secret() {
  cp "$GW_DIR/org1/s3.secret" "$TMP/lax.secret" && chmod 644 "$TMP/lax.secret"
  local out
  out=$(SVCFLOW_GW_S3_SECRET_FILE=$TMP/lax.secret SVCFLOW_GW_LISTEN=127.0.0.1:7999 timeout 20 "$GW_BIN" --config "$GW_DIR/org1/gateway.toml" 2>&1) &&
    { echo "started with a 0644 secret file"; return 1; }
  grep -q "storage.s3_secret_file" <<<"$out" || { echo "$out" | tail -3; return 1; }
}
check "a gateway refuses to start on a secret file others may read, naming storage.s3_secret_file" lax_secret

# --- a phase of Org1 and Org2 ---------------------------------------------------------------------
check "create project $P" expect 201 1 User1 POST /v1/projects -d "{\"id\":\"$P\",\"name\":\"Storage\"}"
check "add P1 {Org1, Org2}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P1\",\"name\":\"design\",\"participants\":$(participants 1 2)}"
check "activate P1" expect 200 1 User1 POST "$V/phases/P1/activate"
head -c $((3 << 20)) /dev/urandom >"$TMP/a.bin"
sha_a=$(sha256sum <"$TMP/a.bin" | cut -d' ' -f1)
check "Org1 uploads a.bin to P1" expect 201 1 User1 POST "$V/phases/P1/files?name=a.bin&id=sfile" --data-binary @"$TMP/a.bin"
okey=$(jq -r .file.object_key "$TMP/body")
bucket=${okey%%/*} object=${okey#*/}
names() {
  [[ $okey =~ ^svf-[0-9a-f]{40}/[0-9a-f]{32}$ ]] || { echo "object key $okey is not <phase bucket>/<random>"; return 1; }
  [[ $okey != *"$P"* && $okey != *P1* && $okey != *sfile* && $okey != *a.bin* ]] || { echo "$okey names the project, phase or file"; return 1; }
}
check "  … stored as <bucket>/<object>, names that tell neither project, phase nor file" names
check "  … in a bucket of Org1's RGW user" bash -c "python3 '$HERE/s3_probe.py' '$STATE' org1 list-buckets x | grep -qw '$bucket'"
check "Org2's gateway downloads it with Org2's own credentials" expect 200 2 User1 GET "$V/phases/P1/files/sfile/content"
check "  … the same bytes" same_sha "$sha_a"
check "Org2's user reads the object (the phase's participant)" allowed org2 get "$bucket" "$object"

# --- a non-member org ----------------------------------------------------------------------------
check "Org3's user cannot read it" refused org3 get "$bucket" "$object"
check "  … nor learn its size (HEAD)" refused org3 head "$bucket" "$object"
check "  … nor list the bucket's object names" refused org3 list "$bucket"
check "  … nor its versions" refused org3 list-versions "$bucket"
check "  … nor see the bucket among its own" bash -c "! python3 '$HERE/s3_probe.py' '$STATE' org3 list-buckets x | grep -qw '$bucket'"
check "  … nor overwrite it" refused org3 put "$bucket" "$object"
check "  … nor delete it" refused org3 delete "$bucket" "$object"
check "  … nor read or change the bucket's policy" refused org3 get-policy "$bucket"
check "  … (policy)" refused org3 put-policy "$bucket"
check "Org2's user (a participant) cannot list, overwrite or delete either" refused org2 list "$bucket"
check "  … (overwrite)" refused org2 put "$bucket" "$object"
check "  … (delete)" refused org2 delete "$bucket" "$object"

# --- no single org destroys an anchored object ------------------------------------------------
version=$(probe org1 version "$bucket" "$object")
check "Org1's own user (the bucket's owner) cannot delete the anchored version" refused org1 delete-version "$bucket" "$object" "$version"
check "  … nor shorten its retention (COMPLIANCE)" refused org1 shorten-retention "$bucket" "$object" "$version"
check "  … a plain DELETE hides it behind a delete marker" allowed org1 delete "$bucket" "$object"
check "  … from no one: Org2 still downloads it (the anchored version, read by its id)" expect 200 2 User1 GET "$V/phases/P1/files/sfile/content"
check "  … (the same bytes)" same_sha "$sha_a"
check "  … so does Org1 through its own gateway" expect 200 1 User1 GET "$V/phases/P1/files/sfile/content"
check "  … (Org1's bytes)" same_sha "$sha_a"
check "  … the anchored version is still there" allowed org1 get "$bucket" "$object" "$version"
check "Org2's user (a participant) may list the bucket's versions, to find that one" allowed org2 list-versions "$bucket"
check "Org1's own user puts other bytes under the object's name (a newer version)" allowed org1 put "$bucket" "$object"
check "  … a substitution, refused on download (not what the anchor names)" no_download 2 User1 GET "$V/phases/P1/files/sfile/content"
check "the owner takes its newer version away again (never anchored: no retention)" allowed org1 delete-version "$bucket" "$object"
check "  … and the delete marker: the anchored version is the current one again" allowed org1 delete-marker "$bucket" "$object"
check "  … Org2 downloads it, the same bytes" expect 200 2 User1 GET "$V/phases/P1/files/sfile/content"
check "  … (bytes)" same_sha "$sha_a"

# --- objects anchored in the older shared bucket still download -----------------------------
# An anchor written as before per-phase buckets: its object in the shared bucket under
# project/phase/file.rand (a copy of a.bin's sealed bytes: the seal does not name its key).
legacy_key="$P/P1/old.0123456789abcdef"
anchor_old() {
  store_get "$okey" "$TMP/sealed" && s3 PUT "$legacy_key" "$TMP/sealed" >/dev/null || return 1
  req 1 User1 GET "$V/phases/P1/files/sfile" >/dev/null || return 1
  local anchor
  anchor=$(jq -c --arg k "$legacy_key" '{id:"old",name:"old.bin",size,sha256,content_type,object_key:$k,key_version}' "$TMP/body")
  ok_inv org1 User1 "org1 org2" AnchorFile "{\"project\":\"$P\",\"phase\":\"P1\"}" "{\"file\":\"$(b64 "$anchor")\"}"
}
check "an anchor naming an object in the older shared bucket (peer CLI)" anchor_old
check "  … Org2's gateway downloads it" expect 200 2 User1 GET "$V/phases/P1/files/old/content"
check "  … the same bytes" same_sha "$sha_a"
check "  … no org's user may list the shared bucket" refused org3 list "$(load_env "$STATE/ceph/s3.env"; echo "$SVCFLOW_S3_BUCKET")"

# --- a removed org's access ends with its removal -----------------------------------------------
check "Org1 removes Org2 from P1 (through Org1's gateway, the bucket's owner)" patched 1 User1 PATCH "$V/phases/P1" -d "{\"participants\":$(participants 1)}"
check "  … Org2's user can no longer read the object (within 10 s)" eventually 10 refused org2 get "$bucket" "$object"
check "  … Org2's gateway is refused the file" expect 403 2 User1 GET "$V/phases/P1/files/sfile/content"
# A change made through another org's gateway reaches the owner's by its periodic sync.
check "add P2 {Org1, Org2, Org3}" expect 201 1 User1 POST "$V/phases" -d "{\"id\":\"P2\",\"name\":\"build\",\"participants\":$(participants 1 2 3)}"
check "activate P2" expect 200 1 User1 POST "$V/phases/P2/activate"
check "Org2 uploads b.bin to P2 (into Org2's bucket of P2)" expect 201 2 User1 POST "$V/phases/P2/files?name=b.bin&id=fb" --data-binary @"$TMP/a.bin"
okey2=$(jq -r .file.object_key "$TMP/body")
check "  … another bucket than Org1's of P1" bash -c "[[ '${okey2%%/*}' != '$bucket' ]]"
check "Org3's user reads it (a participant)" allowed org3 get "${okey2%%/*}" "${okey2#*/}"
check "Org1 removes Org3 from P2 (through Org1's gateway, not the bucket owner's)" patched 1 User1 PATCH "$V/phases/P2" -d "{\"participants\":$(participants 1 2)}"
check "  … Org3's user can no longer read it once Org2's gateway syncs (storage.s3_access_sync_ms, 30 s)" eventually 70 refused org3 get "${okey2%%/*}" "${okey2#*/}"
check "  … Org1's user still reads it" allowed org1 get "${okey2%%/*}" "${okey2#*/}"

finish storage
