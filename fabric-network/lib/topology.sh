# shellcheck shell=bash
# The topology table (fabric-network/topology) in the sourcing shell: ORDERERS, ORGS and PEERS in
# the table's order, a lookup per column, and the crypto material's paths derived from the names.
# Needs lib/common.sh (die). Sourced by network.sh, ceph.sh and the tests.

NET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$NET_DIR")
CRYPTO=$ROOT/crypto-config
TOPOLOGY=$NET_DIR/topology

ORDERERS=() ORGS=() PEERS=()
declare -gA TOPO=() # NAME.COLUMN -> value (global also when sourced in a function)

topology_read() {
  local lines line n=0 kind name cols
  mapfile -t lines <"$TOPOLOGY"
  for line in "${lines[@]}"; do
    n=$((n + 1))
    read -r kind name cols <<<"${line%%#*}"
    [[ -n $kind ]] || continue
    case $kind in
      ordererorg) topology_row "$n" "$kind" ordererorg "$name $cols" msp domain ;; # one, no name
      orderer) topology_row "$n" "$kind" "$name" "$cols" port admin ops && ORDERERS+=("$name") ;;
      org) topology_row "$n" "$kind" "$name" "$cols" msp domain cc gw && ORGS+=("$name") ;;
      peer) topology_row "$n" "$kind" "$name" "$cols" org port cc ops bootstrap && PEERS+=("$name") ;;
      service) topology_row "$n" "$kind" "$name" "$cols" port ;;
      *) die "reading the topology (line $n: unknown kind '$kind')" "$TOPOLOGY" ;;
    esac
  done
}

# Stores one row's fields as TOPO[NAME.COLUMN], one column name per field.
topology_row() { # line kind name "fields" column...
  local line=$1 kind=$2 name=$3 col fields=()
  read -ra fields <<<"$4"
  shift 4
  for col in "$@"; do
    ((${#fields[@]})) || die "reading the topology (line $line: $kind $name has no $col column)" "$TOPOLOGY"
    TOPO[$name.$col]=${fields[0]}
    fields=("${fields[@]:1}")
  done
  ((${#fields[@]} == 0)) || die "reading the topology (line $line: $kind $name has more columns than $*)" "$TOPOLOGY"
}

topology_read

topo() { printf '%s\n' "${TOPO[$1.$2]:-}"; } # name column -> value (empty for an unknown name)

orderer_port() { topo "$1" port; }
orderer_admin_port() { topo "$1" admin; }
peer_port() { topo "$1" port; }
peer_cc_port() { topo "$1" cc; }           # the peer's own chaincode listener
peer_bootstrap() { topo "$1" bootstrap; }  # the peer its gossip starts from
ops_port() { topo "$1" ops; }              # operations (metrics, health) of an orderer or a peer
peer_org() { topo "$1" org; }              # peer0.org1 -> org1
org_msp() { topo "$1" msp; }               # org1 -> Org1MSP
org_of_msp() { local o; for o in "${ORGS[@]}"; do [[ $(org_msp "$o") == "$1" ]] && { echo "$o"; return 0; }; done; return 1; } # Org1MSP -> org1
org_domain() { topo "$1" domain; }         # org1 -> org1.svcflow.local
cc_port() { topo "$1" cc; }                # org1 -> its chaincode server's port
gw_port() { topo "$1" gw; }                # org1 -> its REST gateway's port
rgw_port() { echo "${SVCFLOW_RGW_PORT:-$(topo rgw port)}"; }
org_peers() { local p; for p in "${PEERS[@]}"; do [[ ${TOPO[$p.org]} == "$1" ]] && echo "$p"; done; return 0; }
org_peer() { local p; for p in "${PEERS[@]}"; do [[ ${TOPO[$p.org]} == "$1" ]] && { echo "$p"; return 0; }; done; }
# The address clients send transactions to: the first orderer's.
orderer_address() { echo "127.0.0.1:$(orderer_port "${ORDERERS[0]}")"; }
# Every port the network's processes listen on: orderers, peers, chaincode servers, gateways.
network_ports() {
  local n
  for n in "${ORDERERS[@]}"; do orderer_port "$n"; done
  for n in "${ORDERERS[@]}"; do orderer_admin_port "$n"; done
  for n in "${PEERS[@]}"; do peer_port "$n"; done
  for n in "${PEERS[@]}"; do peer_cc_port "$n"; done
  for n in "${ORDERERS[@]}" "${PEERS[@]}"; do ops_port "$n"; done
  for n in "${ORGS[@]}"; do cc_port "$n"; done
  for n in "${ORGS[@]}"; do gw_port "$n"; done
}

# Where cryptogen puts each node's and org's material (crypto-config/crypto-config.yaml).
ORDERER_DOMAIN=$(topo ordererorg domain)
ORDERER_ORG_DIR=$CRYPTO/ordererOrganizations/$ORDERER_DOMAIN
orderer_dir() { echo "$ORDERER_ORG_DIR/orderers/$1.$ORDERER_DOMAIN"; }
org_dir() { echo "$CRYPTO/peerOrganizations/$(org_domain "$1")"; }
peer_host() { local org; org=$(peer_org "$1"); echo "${1%%.*}.$(org_domain "$org")"; } # peer0.org1 -> peer0.org1.svcflow.local
peer_dir() { echo "$(org_dir "$(peer_org "$1")")/peers/$(peer_host "$1")"; }
