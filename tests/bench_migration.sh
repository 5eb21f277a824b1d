#!/usr/bin/env bash
# Benchmark of a membership change (issues 11, 21): N records of 1 KiB in a phase of {Org1, Org2},
# then Org3 joins (its copy is filled from Org1's; the others never move) and leaves again (out at
# once, its copy purged, the key rotates). Times, as the REST caller sees them: how long the phase
# refuses writes (PATCH until a write is stored), how long until Org3 reads the last record, and
# PATCH until the change has ended; while each change runs, Org1 writes one record after another
# all along, and the table gives how many were refused and the longest one took (a write the
# phase has wait is sent again by the gateway: that time is how long the phase was unwritable).
# Counts the transactions from the driving gateway's log.
# Prints a Markdown table.
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
log() { echo "$STATE/logs/gateway.org$1.log"; }
# writable: a new record of B is stored now (Org1 writes one; a 409 while the phase waits).
probe=0
writable() { probe=$((probe + 1)); [[ $(gwcurl 1 User1 "$V/phases/B/records/probe$probe" -sS -o /dev/null -w '%{http_code}' -X PUT -d '{}') == 201 ]]; }
# org3_reads: Org3 reads the last record stored before the change (all of them, once it can).
org3_reads() { [[ $(gwcurl 3 User1 "$V/phases/B/records/r$N" -sS -o /dev/null -w '%{http_code}') == 200 ]]; }
# until_ok CMD: ms until CMD first succeeds, polling every 50 ms.
until_ok() { local t0; t0=$(ms); until "$@"; do sleep 0.05; done; echo $(($(ms) - t0)); }
# writer TAG: Org1 writes records of B one after another until $TMP/stop exists; a line
# "start_ms end_ms status" per write in $TMP/writes.TAG.
writer() {
  local i=0 t0 code
  while [[ ! -e $TMP/stop ]]; do
    i=$((i + 1)) t0=$(ms)
    code=$(gwcurl 1 User1 "$V/phases/B/records/$1-$i" -sS -o /dev/null -w '%{http_code}' -X PUT -d '{}' || true)
    echo "$t0 $(ms) $code" >>"$TMP/writes.$1"
  done
}
# written TAG -> "writes refused longest_ms median_ms"
written() {
  awk '{ n++; if ($3 != 201) bad++; d = $2 - $1; print d > "/dev/stderr" } END { printf "%d %d ", n, bad + 0 }' "$TMP/writes.$1" 2>"$TMP/lat.$1"
  sort -n "$TMP/lat.$1" | awk '{ a[NR] = $1 } END { printf "%d %d\n", a[NR], a[int((NR + 1) / 2)] }'
}
move() { # participant orgs -> "ms transactions values refused_ms"
  local t0 refused driver=1
  local -A lines=([1]=$(wc -l <"$(log 1)") [2]=$(wc -l <"$(log 2)"))
  t0=$(ms)
  [[ $(req 1 User1 PATCH "$V/phases/B" -d "{\"participants\":$(participants "$@")}") == 202 ]] || { cat "$TMP/body"; exit 1; }
  # Adding Org3 to a phase holding Org2's data waits for Org2's approval, which makes the change
  # (and Org2's gateway moves the data): times run from there.
  if jq -e '.proposal' "$TMP/body" >/dev/null; then
    t0=$(ms)
    [[ $(req 2 User1 POST "$V/phases/B/approval") == 202 ]] || { cat "$TMP/body"; exit 1; }
    driver=2
  fi
  refused=$(until_ok writable)
  while ! ended; do sleep 0.2; done
  local took=$(($(ms) - t0))
  tail -n +"$((lines[$driver] + 1))" "$(log "$driver")" | grep "\"project\":\"$P\"" | grep '"migration done"' |
    jq -r --arg ms "$took" --arg r "$refused" '"\($ms) \(.fields.transactions) \(.fields.values) \($r)"' | tail -1
}
t_join=$(ms)
rm -f "$TMP/stop"
writer join &
read -r join_ms join_tx join_values join_refused < <(move 1 2 3)
touch "$TMP/stop"
wait
until_ok org3_reads >/dev/null
join_reads=$(($(ms) - t_join))
read -r join_writes join_bad join_longest join_median < <(written join)
rm -f "$TMP/stop"
writer leave &
read -r leave_ms leave_tx leave_values leave_refused < <(move 1 2)
touch "$TMP/stop"
wait
read -r leave_writes leave_bad leave_longest leave_median < <(written leave)
values_per_s() { echo $(($2 * 1000 / $1)); }

echo "| measure ($N records of 1 KiB, per-org copies) | value |"
echo "|---|---|"
echo "| store the records (REST PUT, 16 in flight) | $(secs "$put_ms") ($((N * 1000 / put_ms)) records/s) |"
echo "| Org3 joins: values copied into Org3's copy (records, superseded versions, changes, key) | $join_values |"
echo "| … transactions (MigratePhase, ≤ 500 values each) | $join_tx |"
echo "| … the phase refuses writes for (PATCH to the first write stored) | $(secs "$join_refused") |"
echo "| … Org1 writing all along: writes, refused | $join_writes, $join_bad |"
echo "| … the longest write took (median) | $(secs "$join_longest") ($(secs "$join_median")) |"
echo "| … Org3 reads everything after (PATCH to Org3 reading the last record) | $(secs "$join_reads") |"
echo "| … time from PATCH to the end of the copy | $(secs "$join_ms") ($(values_per_s "$join_ms" "$join_values") values/s) |"
echo "| Org3 leaves (out at once, key rotates, its copy purged): values purged | $leave_values |"
echo "| … transactions | $leave_tx |"
echo "| … the phase refuses writes for | $(secs "$leave_refused") |"
echo "| … Org1 writing all along: writes, refused | $leave_writes, $leave_bad |"
echo "| … the longest write took (median) | $(secs "$leave_longest") ($(secs "$leave_median")) |"
echo "| … time from PATCH to the end of the purge | $(secs "$leave_ms") ($(values_per_s "$leave_ms" "$leave_values") values/s) |"
