#!/usr/bin/env bash
# Benchmark of a phase migration (issue 11): N records of 1 KiB in a phase of {Org1, Org2}, then
# Org3 joins (every value moves to the three orgs' collection) and leaves again (moves back, the
# key rotates). Times each move as the REST caller sees it (PATCH until the migration has ended)
# and counts its transactions from the driving gateway's log. Prints a Markdown table.
# Needs the network up (network.sh up); uses its own project id.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network bench_migration >/dev/null
N=${N:-10000}
P=bm$(date +%s)
V=/v1/projects/$P
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ms() { date +%s%3N; }
secs() { printf '%d.%03d s' $(($1 / 1000)) $(($1 % 1000)); }

req 1 User1 POST /v1/projects -d "{\"id\":\"$P\",\"name\":\"bench\"}" >/dev/null
req 1 User1 POST "$V/phases" -d "{\"id\":\"B\",\"name\":\"bulk\",\"participants\":$(participants 1 2)}" >/dev/null
pad=$(head -c 1000 /dev/zero | tr '\0' 'x')
t=$(ms)
for ((i = 1; i <= N; i++)); do
  gwcurl 1 User1 "$V/phases/B/records/r$i" -sS -o /dev/null -w '%{http_code}\n' -X PUT -d "{\"n\":$i,\"pad\":\"$pad\"}" >>"$TMP/codes" &
  ((i % 16 == 0)) && wait
done
wait
put_ms=$(($(ms) - t))
[[ $(grep -c '^201$' "$TMP/codes") == "$N" ]] || { echo "not every record was stored:"; sort "$TMP/codes" | uniq -c; exit 1; }

ended() { req 1 User1 GET "$V/phases/B/migration" >/dev/null && jq -e '.migrating == false and .driving == false' "$TMP/body" >/dev/null; }
log=$STATE/logs/gateway.org1.log
move() { # participant orgs -> "ms transactions values"
  local t0 lines
  lines=$(wc -l <"$log")
  t0=$(ms)
  [[ $(req 1 User1 PATCH "$V/phases/B" -d "{\"participants\":$(participants "$@")}") == 202 ]] || { cat "$TMP/body"; exit 1; }
  while ! ended; do sleep 0.2; done
  local took=$(($(ms) - t0))
  tail -n +"$((lines + 1))" "$log" | grep "\"project\":\"$P\"" | grep '"migration done"' |
    jq -r --arg ms "$took" '"\($ms) \(.fields.transactions) \(.fields.values)"' | tail -1
}
read -r join_ms join_tx join_values < <(move 1 2 3)
read -r leave_ms leave_tx leave_values < <(move 1 2)
values_per_s() { echo $(($2 * 1000 / $1)); }

echo "| measure ($N records of 1 KiB) | value |"
echo "|---|---|"
echo "| store the records (REST PUT, 16 in flight) | $(secs "$put_ms") ($((N * 1000 / put_ms)) records/s) |"
echo "| Org3 joins: values moved (records, superseded versions, changes, key) | $join_values |"
echo "| … transactions (MigratePhase, ≤ 500 values each) | $join_tx |"
echo "| … time from PATCH to the end of the migration | $(secs "$join_ms") ($(values_per_s "$join_ms" "$join_values") values/s) |"
echo "| Org3 leaves (key rotates, old collection purged): values moved | $leave_values |"
echo "| … transactions | $leave_tx |"
echo "| … time from PATCH to the end of the migration | $(secs "$leave_ms") ($(values_per_s "$leave_ms" "$leave_values") values/s) |"
