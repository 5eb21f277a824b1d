#!/usr/bin/env bash
# A 256 MiB upload through Org1's gateway, an older gateway binary (A, writing the shared bucket
# as the svcflow user, as before per-org buckets) against this checkout's (B: Org1's own bucket of
# the phase, Object Lock, retention), in the order A B B A, three uploads per turn; prints
# "old|new STATUS SECONDS OBJECT-KEY" per upload. Needs the network and the RGW up
# (ceph.sh up && network.sh up) and OLD_GW, the older svcflow-gateway binary, e.g. built from
# `git archive 34d129d`. Leaves Org1's gateway as configured. docs/benchmarks.md has a run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
network_lib
OLD=${OLD_GW:?set OLD_GW to an older svcflow-gateway binary}
TMP=$(mktemp -d)
P=bench$(date +%s); V=/v1/projects/$P
head -c $((256 << 20)) /dev/urandom >"$TMP/big.bin"
req 1 User1 POST /v1/projects -d "{\"id\":\"$P\",\"name\":\"Bench\"}" >/dev/null
req 1 User1 POST "$V/phases" -d "{\"id\":\"P1\",\"name\":\"b\",\"participants\":$(participants 1 2)}" >/dev/null
load_env "$STATE/ceph/s3.env"
(umask 077; printf '%s\n' "$SVCFLOW_S3_SECRET_KEY" >"$TMP/shared.secret")
cfg=$GW_DIR/org1/gateway.toml
grep -v '^s3_bucket_registry' "$cfg" >"$TMP/old.toml"   # a key the older gateway does not know
run_as() { # old|new
  stop_all gateway.org1
  if [[ $1 == old ]]; then
    SVCFLOW_GW_S3_ACCESS_KEY=$SVCFLOW_S3_ACCESS_KEY SVCFLOW_GW_S3_SECRET_FILE=$TMP/shared.secret spawn gateway.org1 "$LOGS/gateway.org1.log" "$OLD" --config "$TMP/old.toml"
  else
    spawn gateway.org1 "$LOGS/gateway.org1.log" "$GW_BIN" --config "$cfg"
  fi
  gw_wait_healthy org1
}
n=0
for which in old new new old; do
  run_as "$which"
  for _ in 1 2 3; do
    n=$((n + 1))
    t=$(gwcurl 1 User1 "$V/phases/P1/files?name=big.bin&id=b$n" -sS -o "$TMP/body" -w '%{http_code} %{time_total}' -X POST --data-binary @"$TMP/big.bin")
    echo "$which $t $(jq -r .file.object_key "$TMP/body")"
  done
done
stop_all gateway.org1; gw_start org1 force; gw_wait_healthy org1
rm -rf "$TMP"
