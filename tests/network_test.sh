#!/usr/bin/env bash
# Live test of the consortium network (issue 2): brings the network up with fabric-network/network.sh,
# checks orderers, Raft and peers, keeps committing with one orderer down, sees it catch up, and
# that `down` leaves nothing behind. Prints "network: N passed, N failed, N skipped".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network network
NET=$NET_DIR/network.sh

channel_on_all_orderers() {
  local o
  for o in "${ORDERERS[@]}"; do osnadmin "$o" list -c "$CHANNEL" | grep -q '"status": "active"' || { echo "$o: channel not active"; return 1; }; done
}
leader_count() {
  local o n=0
  for o in "${ORDERERS[@]}"; do
    pid_alive "$o" || continue
    [[ $(metric "$(ops_port "$o")" "consensus_etcdraft_is_leader\\{channel=\"$CHANNEL\"\\}") == 1 ]] && n=$((n + 1))
  done
  echo "$n"
}
one_agreed_leader() {
  local o ids=()
  [[ $(leader_count) == 1 ]] || { echo "leaders: $(leader_count)"; return 1; }
  for o in "${ORDERERS[@]}"; do pid_alive "$o" && ids+=("$(raft_leader_id "$o")"); done
  [[ $(printf '%s\n' "${ids[@]}" | sort -u | wc -l) == 1 && -n ${ids[0]} ]] || { echo "leader ids seen: ${ids[*]}"; return 1; }
}
orderer_height() { osnadmin "$1" list -c "$CHANNEL" 2>/dev/null | sed -n 's/.*"height": *\([0-9]*\).*/\1/p' | head -1; }
peers_same_height() { # [min]
  local p h hs=()
  for p in "${PEERS[@]}"; do h=$(peer_height "$p" "$CHANNEL"); hs+=("$p=$h"); [[ -n $h && $h -ge ${1:-1} ]] || { echo "${hs[*]}"; return 1; }; done
  [[ $(printf '%s\n' "${hs[@]}" | cut -d= -f2 | sort -u | wc -l) == 1 ]] || { echo "${hs[*]}"; return 1; }
}

# A real endorsed transaction through ordering that needs no application chaincode:
# Org1 approves a throwaway chaincode definition and waits for the commit event.
submit_probe_tx() {
  (
    peer_cli_env org1
    "$BIN/peer" lifecycle chaincode approveformyorg -o "127.0.0.1:$1" --tls --cafile "$ORDERER_CA" \
      -C "$CHANNEL" -n "probe$(date +%s%N)" -v 1 --sequence 1 --package-id probe:0 --waitForEvent
  )
}

check "all 3 orderers list channel $CHANNEL as active" channel_on_all_orderers
check "orderers agree on one Raft leader" eventually 15 one_agreed_leader
check "all 4 peers joined at the same height" eventually 15 peers_same_height 1
check "cross-org gossip membership complete" wait_gossip

# A transaction through the REST gateway: the peer's Fabric Gateway picks the orderer itself, so this
# is what clients see, whichever orderer is down.
gateway_probe() {
  local code
  code=$(gwcurl 1 User1 /v1/projects -sS -o /dev/null -w '%{http_code}' -X POST -d "{\"id\":\"net$(date +%s%N)\",\"name\":\"probe\"}")
  [[ $code == 201 ]] || { echo "POST /v1/projects answered $code"; return 1; }
}
check "a transaction commits through the REST gateway" gateway_probe

# One orderer down (ROLE leader or follower): the two left keep a leader and commit, the stopped one
# catches up after `up`. Ends the suite when there is no such orderer to stop: stopping nothing
# would prove nothing.
orderer_down() { # role
  local role=$1 leader victim survivor h0 o
  leader=$(leader_name)
  if [[ $(wc -w <<<"$leader") != 1 ]]; then
    check "exactly one Raft leader to pick the $role from" bash -c "echo 'leaders: ${leader:-none}'; false"
    finish network; exit 1
  fi
  if [[ $role == leader ]]; then victim=$leader; else
    for o in "${ORDERERS[@]}"; do [[ $o != "$leader" ]] && { victim=$o; break; }; done
  fi
  for o in "${ORDERERS[@]}"; do [[ $o != "$victim" ]] && { survivor=$o; break; }; done
  h0=$(peer_height peer0.org1 "$CHANNEL")
  stop_all "$victim"
  check "the stopped orderer ($victim, the $role) is down" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$(orderer_port "$victim")) 2>/dev/null"
  if [[ $role == leader ]]; then
    check "a new leader is elected among the two left" eventually 30 single_leader
  else
    same_leader() { [[ $(leader_name) == "$leader" ]]; }
    check "the leader ($leader) stays leader with a follower down" eventually 10 same_leader
  fi
  check "a transaction commits through $survivor with $victim down" eventually 30 submit_probe_tx "$(orderer_port "$survivor")"
  check "a transaction commits through the REST gateway with $victim down" eventually 30 gateway_probe
  check "all peers received the new blocks" eventually 20 peers_same_height $((h0 + 2))
  "$NET" up >/dev/null 2>&1 # restarts only what is not running
  local target; target=$(orderer_height "$survivor")
  caught_up() { local h; h=$(orderer_height "$victim"); [[ -n $h && $h -ge $target ]]; }
  check "$victim restarted and caught up to height $target" eventually 30 caught_up
  check "orderers agree on one Raft leader after the restart" eventually 30 one_agreed_leader
}
single_leader() { [[ $(leader_count) == 1 ]]; }
orderer_down leader
orderer_down follower

"$NET" down
leftover() {
  local busy="" port
  ls "$PIDS"/*.pid 2>/dev/null && return 1
  for port in $(network_ports); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && busy="$busy $port"
  done
  [[ -z $busy ]] || { echo "still listening:$busy"; return 1; }
  pgrep -f "$BIN/(peer|orderer)" && return 1
  return 0
}
check "down leaves no process and no listening port" leftover
finish network
