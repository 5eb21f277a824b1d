#!/usr/bin/env bash
# Benchmark of the network itself (issue 2): wall time of `up` from nothing and warm, resident memory
# of every process once idle, disk used. Prints a Markdown table for docs/benchmarks.md.
# Destroys the current network state (runs `network.sh clean`).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
network_lib
set +e

ms() { date +%s%3N; }
"$NET" clean >/dev/null 2>&1
t=$(ms); "$NET" up >/dev/null 2>&1 || { echo "up failed"; exit 1; }; cold=$(($(ms) - t))
"$NET" down >/dev/null 2>&1
t=$(ms); "$NET" up >/dev/null 2>&1 || { echo "up failed"; exit 1; }; warm=$(($(ms) - t))
t=$(ms); "$NET" up >/dev/null 2>&1; noop=$(($(ms) - t))
t=$(ms); "$NET" down >/dev/null 2>&1; down=$(($(ms) - t))
"$NET" up >/dev/null 2>&1
sleep "${IDLE_SECONDS:-30}"

echo "| measure | value |"
echo "|---|---|"
echo "| \`up\` from nothing (crypto, genesis, 7 processes, channel joins, gossip wait; binaries present) | $((cold / 1000)).$(printf '%03d' $((cold % 1000))) s |"
echo "| \`up\` warm (after \`down\`: ledgers and crypto kept) | $((warm / 1000)).$(printf '%03d' $((warm % 1000))) s |"
echo "| \`up\` when already up | $((noop / 1000)).$(printf '%03d' $((noop % 1000))) s |"
echo "| \`down\` | $((down / 1000)).$(printf '%03d' $((down % 1000))) s |"
total=0
for f in "$PIDS"/*.pid; do
  n=$(basename "$f" .pid)
  rss=$(awk '/VmRSS/{print $2}' "/proc/$(cat "$f")/status" 2>/dev/null || echo 0)
  total=$((total + rss))
  echo "| RSS idle, $n | $((rss / 1024)) MiB |"
done
echo "| RSS idle, all | $((total / 1024)) MiB |"
for d in "$STATE"/orderer1 "$STATE"/peer0.org1 "$STATE"; do
  echo "| disk, ${d#"$ROOT"/} | $(du -sh "$d" | cut -f1) |"
done
echo "| disk, Fabric binaries ($BIN) | $(du -sh "$BIN" | cut -f1) |"
"$NET" down >/dev/null 2>&1
