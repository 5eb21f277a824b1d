#!/usr/bin/env bash
# svcflow consortium network: Hyperledger Fabric 3.1.5 as native processes on 127.0.0.1, its
# chaincode and its REST gateways. Run `fabric-network/network.sh -h` for the verbs. Everything it
# generates lives under fabric-network/.state/, fabric-network/.bin/ and crypto-config/*Organizations/
# (all gitignored). The one entry point; the work is in lib/ (names and ports: the topology file):
#   lib/common.sh     shared helpers (messages, steps, processes, ports)
#   lib/topology.sh   the topology table as arrays and lookups
#   lib/fabric.sh     the Fabric network: install, crypto, orderers, peers, channels, status, env, logs
#   lib/chaincode.sh  chaincode deployment: deployCC, CCaaS packages, chaincode servers
#   lib/gateway.sh    gateway deployment: the gateways verb, their TLS and config
set -Eeuo pipefail

LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib
# shellcheck source=lib/common.sh
source "$LIB/common.sh"
# shellcheck source=lib/topology.sh
source "$LIB/topology.sh"
# shellcheck source=lib/fabric.sh
source "$LIB/fabric.sh"
# shellcheck source=lib/chaincode.sh
source "$LIB/chaincode.sh"
# shellcheck source=lib/gateway.sh
source "$LIB/gateway.sh"

deploy_if_present() {
  [[ -f $ROOT/chaincode/src/main.rs ]] || { say "no chaincode binary crate yet: skipping deployCC"; return 0; }
  cmd_deploy_cc
  [[ -f $ROOT/gateway/src/main.rs ]] && cmd_gateways
  return 0
}

cmd_up() {
  fabric_up
  [[ $WITH_CEPH == 1 ]] && step "Ceph RGW (ceph.sh up)" "$LOGS/ceph-up.log" "$NET_DIR/ceph.sh" up
  deploy_if_present
  say "network is up: channel $CHANNEL, ${#ORDERERS[@]} orderers, ${#PEERS[@]} peers (network.sh status)"
}

pid_names() { # glob under $PIDS -> names
  local f
  for f in "$PIDS"/$1.pid; do [[ -e $f ]] && basename "$f" .pid; done
  return 0
}

cmd_down() {
  if [[ -d $PIDS ]]; then
    # Clients first (gateways, chaincode), then peers, then orderers, then anything else.
    local clients others
    mapfile -t clients < <(pid_names 'gateway*'; pid_names 'chaincode*')
    stop_all "${clients[@]}"
    stop_all "${PEERS[@]}"
    stop_all "${ORDERERS[@]}"
    mapfile -t others < <(pid_names '*')
    stop_all "${others[@]}"
  fi
  if [[ -d $STATE/ceph ]]; then "$NET_DIR/ceph.sh" down; fi
  say "network is down"
}

cmd_clean() {
  cmd_down
  rm -rf "$STATE" "$CRYPTO/peerOrganizations" "$CRYPTO/ordererOrganizations"
  say "generated state removed"
}

usage() {
  cat <<EOF
Usage: fabric-network/network.sh <verb> [options]

Verbs:
  install              get Fabric $FABRIC_VERSION binaries into $BIN (a no-op when they are there):
                       from SVCFLOW_FABRIC_SRC if set, else go install at the pinned commit
  up [-s ceph]         install if needed, crypto, ${#ORDERERS[@]} orderers, channel '$CHANNEL', ${#PEERS[@]} peers joined;
                       then the chaincode and gateways once they exist. -s ceph also starts Ceph RGW.
  down                 stop every process started here (by PID file); state is kept
  clean                down, then wipe generated state (ledgers, crypto, blocks, logs, objects)
  status               each process up or down; orderers' Raft role and height; peers' height
  createChannel -c N   create and join one more channel N
  deployCC             build, package, install, approve (all orgs), commit the chaincode; start its servers
  gateways             build the REST gateways; (re)start those not running this build and config
                       ($(gw_ports))
  logs NODE [-f]       show (or follow) a node's log: ${ORDERERS[*]} ${PEERS[*]} ...
  p12 ORG [USER] [FILE] USER's (User1's) client certificate and key as a PKCS#12 file for a
                       browser, to open the dashboard at its org's gateway (password: svcflow,
                       or SVCFLOW_P12_PASSWORD); default FILE: \$SVCFLOW_STATE_DIR/p12/USER@DOMAIN.p12
  env ORG [USER]       print exports for the peer CLI as ORG's USER (Admin by default):
                         eval "\$(fabric-network/network.sh env org1 User1)"
  -h                   this help

Environment:
  SVCFLOW_FABRIC_SRC   Fabric $FABRIC_VERSION source to build from: its archive (sha256 checked) or an
                       unpacked tree; with vendor/ it needs no module download
  SVCFLOW_FABRIC_BIN   dir of Fabric $FABRIC_VERSION binaries: used when present, built into when not
                       (default: fabric-network/.bin)
  SVCFLOW_FABRIC_CFG   dir with Fabric's sample core.yaml/orderer.yaml (default: \$BIN/config, kept
                       there by install, or \$BIN/../config as in Fabric's release archives)
  SVCFLOW_STATE_DIR    generated state (default: fabric-network/.state)
EOF
}

main() {
  local verb=${1:-}
  [[ $# -gt 0 ]] && shift
  WITH_CEPH=0
  local args=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      -s) [[ ${2:-} == ceph ]] || die "parse options (-s takes 'ceph')"; WITH_CEPH=1; shift 2 ;;
      -c) CHANNEL_ARG=${2:-}; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  # A command that fails outside `step`/`die` still ends with one line naming where (status's
  # non-zero answer "something is down" is no failure of the script).
  [[ $verb == status ]] || trap 'die "line $LINENO of ${BASH_SOURCE[0]##*/}: $BASH_COMMAND"' ERR
  case $verb in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down ;;
    clean) cmd_clean ;;
    status) cmd_status ;;
    createChannel)
      [[ -n ${CHANNEL_ARG:-} ]] || die "createChannel (-c NAME is required)"
      [[ $CHANNEL_ARG =~ ^[a-z][a-z0-9.-]{0,248}$ ]] || die "createChannel (channel name '$CHANNEL_ARG' must match [a-z][a-z0-9.-]*)"
      CFG_BASE=$(fabric_cfg_base); create_channel "$CHANNEL_ARG"; say "channel $CHANNEL_ARG created and joined" ;;
    deployCC) cmd_deploy_cc ;;
    # Gone with the collections per org set: a script or habit that still calls it hears why.
    addCollection)
      say "network.sh: addCollection is gone, and so are the collections per org set: a phase may have" \
        "any orgs of the channel, each keeping its copy in its implicit collection _implicit_org_<MSP>;" \
        "no change to the chaincode definition is needed"
      exit 1 ;;
    gateways) cmd_gateways ;;
    logs) cmd_logs "${args[@]}" ;;
    env) cmd_env "${args[@]}" ;;
    p12) cmd_p12 "${args[@]}" ;;
    -h | --help | help) usage ;;
    "") usage; exit 1 ;;
    *) say "network.sh: unknown verb '$verb'"; usage >&2; exit 1 ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
