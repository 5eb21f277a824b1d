#!/usr/bin/env bash
# Chaincode benchmark (issue 3): the ledger round trip seen by the chaincode. Runs N GetProject
# queries (one GET_STATE each) and reads the chaincode's own per-transaction log lines
# (ledger_us / ledger_calls: from sending GET_STATE on the stream to the peer's RESPONSE).
# Prints a Markdown table. Needs a running network with the chaincode (network.sh up).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
network_lib
N=${N:-300}
eval "$("$NET" env org1 User1)"
export FABRIC_LOGGING_SPEC=error
P=bench$(date +%s)
read -ra endorse1 <<<"$PEER_ORG1"
read -ra endorse2 <<<"$PEER_ORG2"
peer chaincode invoke -o "$(orderer_address)" --tls --cafile "$ORDERER_CA" -C svcflow -n svcflow "${endorse1[@]}" "${endorse2[@]}" \
  -c "{\"Args\":[\"CreateProject\",\"{\\\"id\\\":\\\"$P\\\",\\\"name\\\":\\\"bench\\\"}\"]}" --waitForEvent >/dev/null
LOG=$LOGS/chaincode.org1.log
start=$(wc -l <"$LOG")
for _ in $(seq "$N"); do
  peer chaincode query -C svcflow -n svcflow -c "{\"Args\":[\"GetProject\",\"{\\\"id\\\":\\\"$P\\\"}\"]}" >/dev/null
done
tail -n +"$((start + 1))" "$LOG" | jq -r 'select(.function=="GetProject" and .ledger_calls==1) | "\(.ledger_us) \(.elapsed_us)"' | sort -n >/tmp/svcflow-rtt.txt
n=$(wc -l </tmp/svcflow-rtt.txt)
pct() { awk -v p="$1" -v n="$n" -v col="$2" 'NR==int((n-1)*p)+1 {print $col}' /tmp/svcflow-rtt.txt; }
echo "| measure ($n GetProject queries on peer0.org1, chaincode over mutual TLS) | value |"
echo "|---|---|"
echo "| GET_STATE round trip seen by the chaincode, median | $(pct 0.5 1) µs |"
echo "| GET_STATE round trip, p90 / p99 | $(pct 0.9 1) / $(pct 0.99 1) µs |"
sort -n -k2 /tmp/svcflow-rtt.txt -o /tmp/svcflow-rtt.txt
echo "| whole GetProject inside the chaincode (parse creator cert, 1 GET_STATE, JSON), median | $(pct 0.5 2) µs |"
