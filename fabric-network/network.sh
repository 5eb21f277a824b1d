#!/usr/bin/env bash
# svcflow consortium network: Hyperledger Fabric 3.1.5 as native processes on 127.0.0.1.
# Run `fabric-network/network.sh -h` for the verbs. Everything it generates lives under
# fabric-network/.state/, fabric-network/.bin/ and crypto-config/*Organizations/ (all gitignored).
set -Eeuo pipefail

NET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$NET_DIR")
STATE=${SVCFLOW_STATE_DIR:-$NET_DIR/.state}
LOGS=$STATE/logs
PIDS=$STATE/pids
CRYPTO=$ROOT/crypto-config
CHANNEL=${SVCFLOW_CHANNEL:-svcflow}

FABRIC_VERSION=3.1.5
# v3.1.5: the module path has no /v3 suffix, so the tag can't be named; the commit can.
FABRIC_COMMIT=86c1172bec37e6590c6b1ae6f847833df48d65fc
# configtxlator is not needed to run the network; the live tests decode blocks with it.
FABRIC_TOOLS=(peer orderer configtxgen cryptogen osnadmin configtxlator)
GO_MIN=1.26 # Fabric 3.1.5's go.mod says go 1.26.4
# Fabric's source archive of that commit with its vendor/ directory (for machines whose Go module
# proxy refuses github.com/hyperledger/*); an archive given in SVCFLOW_FABRIC_SRC must match this.
FABRIC_SRC_SHA256=5c72d393fa147e29c350356d64778225f2d12ecd3d2203328d793b24eec3b92d
# Where the binaries are, or are built to; the sample core.yaml/orderer.yaml of the source they
# were built from are kept beside them in config/.
BIN=${SVCFLOW_FABRIC_BIN:-$NET_DIR/.bin}

ORDERERS=(orderer1 orderer2 orderer3)
PEERS=(peer0.org1 peer1.org1 peer0.org2 peer0.org3)
ORGS=(org1 org2 org3)
# Plain (uncoloured) log lines in files; gRPC's connection chatter only from warnings up.
export FABRIC_LOGGING_FORMAT=${FABRIC_LOGGING_FORMAT:-'%{time:2006-01-02 15:04:05.000 MST} %{level:.4s} [%{module}] %{shortfunc} -> %{message}'}
LOG_SPEC_DEFAULT='grpc=warn:info'

# ---------------------------------------------------------------------------------------------
# Port map (also in README.md). Operations (metrics/health) ports are 10000 above the listener.
orderer_port() { case $1 in orderer1) echo 7050 ;; orderer2) echo 8050 ;; orderer3) echo 9050 ;; esac; }
orderer_admin_port() { echo $(($(orderer_port "$1") + 3)); }
peer_port() { case $1 in peer0.org1) echo 7051 ;; peer1.org1) echo 7061 ;; peer0.org2) echo 8051 ;; peer0.org3) echo 9051 ;; esac; }
ops_port() { case $1 in orderer*) echo $(($(orderer_port "$1") + 10000)) ;; *) echo $(($(peer_port "$1") + 10000)) ;; esac; }
peer_org() { echo "${1#*.}"; }                       # peer0.org1 -> org1
org_msp() { echo "Org${1#org}MSP"; }                 # org1 -> Org1MSP
org_domain() { echo "$1.svcflow.local"; }
org_peer() { case $1 in org1) echo peer0.org1 ;; org2) echo peer0.org2 ;; org3) echo peer0.org3 ;; esac; }

ORDERER_ORG_DIR=$CRYPTO/ordererOrganizations/orderer.svcflow.local
orderer_dir() { echo "$ORDERER_ORG_DIR/orderers/$1.orderer.svcflow.local"; }
peer_dir() { echo "$CRYPTO/peerOrganizations/$(org_domain "$(peer_org "$1")")/peers/$1.svcflow.local"; }
org_dir() { echo "$CRYPTO/peerOrganizations/$(org_domain "$1")"; }
ORDERER_TLS_CA=$ORDERER_ORG_DIR/tlsca/tlsca.orderer.svcflow.local-cert.pem
ORDERER_ADMIN_TLS=$ORDERER_ORG_DIR/users/Admin@orderer.svcflow.local/tls

# ---------------------------------------------------------------------------------------------
say() { printf '%s\n' "$*" >&2; }
# One line naming the failed step and the log to read, then a non-zero exit.
die() { say "network.sh: failed at ${1}${2:+; see $2}"; exit 1; }
# Runs a step with its output appended to a log; on failure, die with that log.
step() {
  local name=$1 log=$2; shift 2
  mkdir -p "$(dirname "$log")"
  printf '\n== %s: %s\n' "$(date -Is)" "$*" >>"$log"
  "$@" >>"$log" 2>&1 || die "$name" "$log"
}

pid_alive() { [[ -f $PIDS/$1.pid ]] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # name port log
  local i
  for i in $(seq 1 100); do
    port_open "$2" && return 0
    pid_alive "$1" || die "start $1 (process exited)" "$3"
    sleep 0.1
  done
  die "start $1 (port $2 not listening after 10 s)" "$3"
}
# Starts a long-running process in its own session so `down` can stop it and its children.
spawn() { # name log cmd... (env is the caller's)
  local name=$1 log=$2; shift 2
  mkdir -p "$PIDS" "$(dirname "$log")"
  printf '\n== %s: starting %s\n' "$(date -Is)" "$name" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

# Fabric's sample core.yaml/orderer.yaml: named by SVCFLOW_FABRIC_CFG, else the copy install keeps
# beside the binaries (bin/config/), else a release archive's layout (bin/../config/).
fabric_cfg_base() {
  local dir
  for dir in ${SVCFLOW_FABRIC_CFG:-} "$BIN/config" "$BIN/../config"; do
    [[ -f $dir/core.yaml && -f $dir/orderer.yaml ]] && { (cd "$dir" && pwd); return; }
  done
  if [[ -n ${SVCFLOW_FABRIC_CFG:-} ]]; then die "locate Fabric sampleconfig (SVCFLOW_FABRIC_CFG=$SVCFLOW_FABRIC_CFG has no core.yaml and orderer.yaml)"; fi
  die "locate Fabric sampleconfig (run 'network.sh install', or set SVCFLOW_FABRIC_CFG to a dir with core.yaml and orderer.yaml)"
}

# ---------------------------------------------------------------------------------------------
check_go() {
  command -v go >/dev/null || die "install: Go not found on PATH (Fabric $FABRIC_VERSION needs Go >= $GO_MIN)"
  local v
  v=$(go env GOVERSION 2>/dev/null); v=${v#go}
  if ! printf '%s\n%s\n' "$GO_MIN" "$v" | sort -C -V; then
    die "install: Go $v is too old (Fabric $FABRIC_VERSION needs Go >= $GO_MIN)"
  fi
}

# The version the binaries in $BIN report, or nothing when one is missing or reports another.
installed_version() {
  local tool v
  for tool in "${FABRIC_TOOLS[@]}"; do [[ -x $BIN/$tool ]] || return 0; done
  v=$("$BIN/peer" version 2>/dev/null | awk '/Version:/{print $2; exit}')
  [[ $v == "$FABRIC_VERSION" ]] || { echo "${v:-unknown}"; return 0; }
  v=$("$BIN/orderer" version 2>/dev/null | awk '/Version:/{print $2; exit}')
  echo "${v:-unknown}"
}

# Builds the tools from a Fabric source tree into $BIN and keeps its sample config.
build_from_source() { # dir log
  local src=$1 log=$2 flags=()
  [[ $(head -1 "$src/go.mod" 2>/dev/null) == "module github.com/hyperledger/fabric" ]] \
    || die "install (SVCFLOW_FABRIC_SRC: $src is not a Fabric source tree: no go.mod of github.com/hyperledger/fabric)"
  # A tree with vendor/ builds with no download at all; -trimpath lets Go's build cache serve a
  # later build from another unpacked copy.
  [[ -d $src/vendor ]] && flags=(-mod=vendor)
  say "Building Fabric $FABRIC_VERSION from $src (about 1-2 minutes on 2 cores); log: $log"
  mkdir -p "$BIN"
  local pkgs=() tool
  for tool in "${FABRIC_TOOLS[@]}"; do pkgs+=("./cmd/$tool"); done
  step "install (go build of Fabric $FABRIC_VERSION from $src)" "$log" \
    env -C "$src" GOTOOLCHAIN=local GOPROXY=off GOFLAGS="${flags[*]}" go build -trimpath \
    -ldflags "$(fabric_ldflags)" -o "$BIN/" "${pkgs[@]}"
  keep_config "$src/sampleconfig"
}

fabric_ldflags() {
  echo "-X github.com/hyperledger/fabric/common/metadata.Version=$FABRIC_VERSION -X github.com/hyperledger/fabric/common/metadata.CommitSHA=${FABRIC_COMMIT:0:7}"
}

keep_config() { # sampleconfig dir
  [[ -f $1/core.yaml && -f $1/orderer.yaml ]] || die "install (no core.yaml/orderer.yaml in $1)"
  mkdir -p "$BIN/config"
  cp "$1/core.yaml" "$1/orderer.yaml" "$BIN/config/"
}

install_from_src() { # archive or directory
  local src=$1 log=$2
  if [[ -d $src ]]; then build_from_source "$(cd "$src" && pwd)" "$log"; return; fi
  [[ -f $src ]] || die "install (SVCFLOW_FABRIC_SRC=$src is neither a file nor a directory)"
  local sum
  sum=$(sha256sum "$src" | cut -d' ' -f1)
  [[ $sum == "$FABRIC_SRC_SHA256" ]] \
    || die "install (SVCFLOW_FABRIC_SRC=$src has sha256 $sum; Fabric $FABRIC_VERSION's source archive is $FABRIC_SRC_SHA256)"
  local tmp top
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/svcflow-fabric-src.XXXXXX")
  # The unpacked tree (≈ 150 MB) is only needed for this build.
  trap 'rm -rf "$tmp"' EXIT
  step "install (unpack $src)" "$log" tar -xzf "$src" -C "$tmp"
  top=$(find "$tmp" -mindepth 2 -maxdepth 2 -name go.mod -printf '%h\n' | head -1)
  [[ -n $top ]] || die "install (no go.mod in the archive $src)" "$log"
  build_from_source "$top" "$log"
  rm -rf "$tmp"; trap - EXIT
}

install_with_go() { # log
  local log=$1 pkgs=() tool
  say "Building Fabric $FABRIC_VERSION with go install at $FABRIC_COMMIT; log: $log"
  mkdir -p "$BIN"
  for tool in "${FABRIC_TOOLS[@]}"; do pkgs+=("github.com/hyperledger/fabric/cmd/$tool@$FABRIC_COMMIT"); done
  printf '\n== %s: go install\n' "$(date -Is)" >>"$log"
  local out
  if ! out=$(env GOBIN="$BIN" GOTOOLCHAIN=local GOFLAGS=-mod=mod go install -ldflags "$(fabric_ldflags)" "${pkgs[@]}" 2>&1); then
    printf '%s\n' "$out" >>"$log"
    if grep -qE '403|not available|Forbidden' <<<"$out"; then
      die "install (the Go module proxy refuses github.com/hyperledger/fabric; set SVCFLOW_FABRIC_SRC to Fabric $FABRIC_VERSION's source archive or tree and run again)" "$log"
    fi
    die "install (go install of Fabric $FABRIC_VERSION)" "$log"
  fi
  printf '%s\n' "$out" >>"$log"
  local modcache
  modcache=$(go env GOMODCACHE)
  keep_config "$(ls -d "$modcache"/github.com/hyperledger/fabric@*"${FABRIC_COMMIT:0:12}"/sampleconfig | head -1)"
}

# Binaries already at the pinned version -> a source archive or tree (SVCFLOW_FABRIC_SRC) -> go
# install at the pinned commit. A second install finds the first one's binaries and does nothing.
cmd_install() {
  local log=$LOGS/install.log v
  mkdir -p "$LOGS"
  v=$(installed_version)
  if [[ $v != "$FABRIC_VERSION" ]]; then
    [[ -z $v ]] || say "Fabric binaries in $BIN report version $v; rebuilding $FABRIC_VERSION"
    check_go
    if [[ -n ${SVCFLOW_FABRIC_SRC:-} ]]; then install_from_src "$SVCFLOW_FABRIC_SRC" "$log"; else install_with_go "$log"; fi
    v=$(installed_version)
    [[ $v == "$FABRIC_VERSION" ]] || die "install ($BIN/peer and orderer report version '$v' after the build, want $FABRIC_VERSION)" "$log"
  fi
  # Binaries installed before install kept their config (or brought from elsewhere) may lack it:
  # take it from the Go module cache of the pinned commit when that is there.
  if ! (fabric_cfg_base) >/dev/null 2>&1; then
    local dir
    for dir in "$(go env GOMODCACHE 2>/dev/null)"/github.com/hyperledger/fabric@*"${FABRIC_COMMIT:0:12}"/sampleconfig; do
      [[ -f $dir/core.yaml ]] && keep_config "$dir"
    done
  fi
  fabric_cfg_base >/dev/null
}

cmd_crypto() {
  [[ -d $CRYPTO/peerOrganizations && -d $CRYPTO/ordererOrganizations ]] && return 0
  step "crypto (cryptogen generate)" "$LOGS/crypto.log" \
    "$BIN/cryptogen" generate --config "$CRYPTO/crypto-config.yaml" --output "$CRYPTO"
}

channel_block() { echo "$STATE/channel-artifacts/$1.block"; }

make_genesis() { # channel
  local block
  block=$(channel_block "$1")
  [[ -f $block ]] && return 0
  mkdir -p "$(dirname "$block")"
  step "genesis block for channel $1 (configtxgen)" "$LOGS/configtxgen.log" \
    "$BIN/configtxgen" -configPath "$NET_DIR" -profile SvcflowChannel -channelID "$1" -outputBlock "$block"
}

start_orderer() {
  local name=$1 dir port log data
  dir=$(orderer_dir "$name"); port=$(orderer_port "$name"); log=$LOGS/$name.log; data=$STATE/$name
  pid_alive "$name" && return 0
  ! port_open "$port" || die "start $name (port $port already in use by another process; see README 'Troubleshooting')"
  mkdir -p "$data"
  FABRIC_CFG_PATH=$CFG_BASE \
  FABRIC_LOGGING_SPEC=${SVCFLOW_ORDERER_LOGGING:-$LOG_SPEC_DEFAULT} \
  ORDERER_GENERAL_LISTENADDRESS=127.0.0.1 \
  ORDERER_GENERAL_LISTENPORT=$port \
  ORDERER_GENERAL_LOCALMSPID=OrdererMSP \
  ORDERER_GENERAL_LOCALMSPDIR=$dir/msp \
  ORDERER_GENERAL_BOOTSTRAPMETHOD=none \
  ORDERER_GENERAL_TLS_ENABLED=true \
  ORDERER_GENERAL_TLS_PRIVATEKEY=$dir/tls/server.key \
  ORDERER_GENERAL_TLS_CERTIFICATE=$dir/tls/server.crt \
  ORDERER_GENERAL_TLS_ROOTCAS="[$dir/tls/ca.crt]" \
  ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE=$dir/tls/server.crt \
  ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY=$dir/tls/server.key \
  ORDERER_GENERAL_CLUSTER_ROOTCAS="[$dir/tls/ca.crt]" \
  ORDERER_CHANNELPARTICIPATION_ENABLED=true \
  ORDERER_FILELEDGER_LOCATION=$data/ledger \
  ORDERER_CONSENSUS_WALDIR=$data/etcdraft/wal \
  ORDERER_CONSENSUS_SNAPDIR=$data/etcdraft/snapshot \
  ORDERER_OPERATIONS_LISTENADDRESS=127.0.0.1:$(ops_port "$name") \
  ORDERER_METRICS_PROVIDER=prometheus \
  ORDERER_ADMIN_LISTENADDRESS=127.0.0.1:$(orderer_admin_port "$name") \
  ORDERER_ADMIN_TLS_ENABLED=true \
  ORDERER_ADMIN_TLS_CERTIFICATE=$dir/tls/server.crt \
  ORDERER_ADMIN_TLS_PRIVATEKEY=$dir/tls/server.key \
  ORDERER_ADMIN_TLS_ROOTCAS="[$dir/tls/ca.crt]" \
  ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
  ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$ORDERER_TLS_CA]" \
    spawn "$name" "$log" "$BIN/orderer"
  wait_port "$name" "$(orderer_admin_port "$name")" "$log"
}

osnadmin() { # orderer args...
  local name=$1; shift
  "$BIN/osnadmin" channel "$@" -o "127.0.0.1:$(orderer_admin_port "$name")" --ca-file "$ORDERER_TLS_CA" \
    --client-cert "$ORDERER_ADMIN_TLS/client.crt" --client-key "$ORDERER_ADMIN_TLS/client.key"
}

orderer_join() { # orderer channel
  osnadmin "$1" list 2>/dev/null | grep -q "\"name\": \"$2\"" && return 0
  step "join $1 to channel $2 (osnadmin channel join)" "$LOGS/osnadmin.log" \
    osnadmin "$1" join --channelID "$2" --config-block "$(channel_block "$2")"
}

# Sets the peer CLI environment for ORG acting as USER (Admin by default) against PEER.
peer_cli_env() { # org [user] [peer]
  local org=$1 user=${2:-Admin} peer=${3:-$(org_peer "$1")}
  export FABRIC_CFG_PATH=$CFG_BASE
  export FABRIC_LOGGING_SPEC=${SVCFLOW_CLI_LOGGING:-$LOG_SPEC_DEFAULT}
  export CORE_PEER_TLS_ENABLED=true
  export CORE_PEER_LOCALMSPID; CORE_PEER_LOCALMSPID=$(org_msp "$org")
  export CORE_PEER_MSPCONFIGPATH; CORE_PEER_MSPCONFIGPATH=$(org_dir "$org")/users/$user@$(org_domain "$org")/msp
  export CORE_PEER_ADDRESS=127.0.0.1:$(peer_port "$peer")
  export CORE_PEER_TLS_ROOTCERT_FILE; CORE_PEER_TLS_ROOTCERT_FILE=$(peer_dir "$peer")/tls/ca.crt
  export ORDERER_CA=$ORDERER_TLS_CA
}

start_peer() {
  local name=$1 org dir port log data bootstrap
  org=$(peer_org "$name"); dir=$(peer_dir "$name"); port=$(peer_port "$name"); log=$LOGS/$name.log; data=$STATE/$name
  pid_alive "$name" && return 0
  ! port_open "$port" || die "start $name (port $port already in use by another process; see README 'Troubleshooting')"
  # Gossip bootstraps from the org's other peer; a single-peer org points at itself.
  case $name in peer0.org1) bootstrap=127.0.0.1:7061 ;; peer1.org1) bootstrap=127.0.0.1:7051 ;; *) bootstrap=127.0.0.1:$port ;; esac
  mkdir -p "$data"
  FABRIC_CFG_PATH=$CFG_BASE \
  FABRIC_LOGGING_SPEC=${SVCFLOW_PEER_LOGGING:-$LOG_SPEC_DEFAULT} \
  CORE_PEER_ID=$name.svcflow.local \
  CORE_PEER_NETWORKID=svcflow \
  CORE_PEER_LISTENADDRESS=127.0.0.1:$port \
  CORE_PEER_ADDRESS=127.0.0.1:$port \
  CORE_PEER_CHAINCODELISTENADDRESS=127.0.0.1:$((port + 1)) \
  CORE_PEER_GOSSIP_BOOTSTRAP=$bootstrap \
  CORE_PEER_GOSSIP_ENDPOINT=127.0.0.1:$port \
  CORE_PEER_GOSSIP_EXTERNALENDPOINT=127.0.0.1:$port \
  CORE_PEER_GOSSIP_RECONNECTINTERVAL=2s \
  CORE_PEER_LOCALMSPID="$(org_msp "$org")" \
  CORE_PEER_MSPCONFIGPATH=$dir/msp \
  CORE_PEER_TLS_ENABLED=true \
  CORE_PEER_TLS_CERT_FILE=$dir/tls/server.crt \
  CORE_PEER_TLS_KEY_FILE=$dir/tls/server.key \
  CORE_PEER_TLS_ROOTCERT_FILE=$dir/tls/ca.crt \
  CORE_PEER_FILESYSTEMPATH=$data/production \
  CORE_LEDGER_SNAPSHOTS_ROOTDIR=$data/snapshots \
  CORE_OPERATIONS_LISTENADDRESS=127.0.0.1:$(ops_port "$name") \
  CORE_METRICS_PROVIDER=prometheus \
  CORE_VM_ENDPOINT= \
  CORE_CHAINCODE_EXTERNALBUILDERS="[{\"name\":\"svcflow-ccaas\",\"path\":\"$NET_DIR/builders/ccaas\"}]" \
    spawn "$name" "$log" "$BIN/peer" node start
  wait_port "$name" "$port" "$log"
}

peer_join() { # peer channel
  local peer=$1 ch=$2
  (
    peer_cli_env "$(peer_org "$peer")" Admin "$peer"
    "$BIN/peer" channel list 2>/dev/null | grep -qx "$ch" && exit 0
    step "join $peer to channel $ch (peer channel join)" "$LOGS/peer-cli.log" \
      "$BIN/peer" channel join -b "$(channel_block "$ch")"
  ) || exit 1
}

metric() { # port name-with-labels-regex
  local body
  body=$(curl -fsS --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null) || return 0
  awk -v re="^$2 " '$0 ~ re {print $NF; exit}' <<<"$body"
}

# Private data needs each peer to know the other orgs' peers (gossip membership): wait for it.
wait_gossip() {
  local peer want=$((${#PEERS[@]} - 1)) i n
  for peer in "${PEERS[@]}"; do
    for i in $(seq 1 120); do
      n=$(metric "$(ops_port "$peer")" "gossip_membership_total_peers_known\\{channel=\"$CHANNEL\"\\}")
      [[ ${n:-0} -ge $want ]] && break
      ((i < 120)) || die "gossip membership of $peer ($n of $want peers known after 60 s)" "$LOGS/$peer.log"
      sleep 0.5
    done
  done
}

# Waits until exactly one orderer is Raft leader of the channel.
wait_raft_leader() {
  local i o n
  for i in $(seq 1 60); do
    n=0
    for o in "${ORDERERS[@]}"; do
      [[ $(metric "$(ops_port "$o")" "consensus_etcdraft_is_leader\\{channel=\"$1\"\\}") == 1 ]] && n=$((n + 1))
    done
    ((n == 1)) && return 0
    sleep 0.5
  done
  die "Raft leader election on channel $1 (no single leader after 30 s)" "$LOGS/orderer1.log"
}

create_channel() { # channel
  local o p
  make_genesis "$1"
  for o in "${ORDERERS[@]}"; do orderer_join "$o" "$1"; done
  wait_raft_leader "$1"
  for p in "${PEERS[@]}"; do peer_join "$p" "$1"; done
}

cmd_up() {
  cmd_install
  CFG_BASE=$(fabric_cfg_base)
  mkdir -p "$LOGS" "$PIDS"
  cmd_crypto
  local n
  for n in "${ORDERERS[@]}"; do start_orderer "$n"; done
  for n in "${PEERS[@]}"; do start_peer "$n"; done
  create_channel "$CHANNEL"
  wait_gossip
  [[ $WITH_CEPH == 1 ]] && step "Ceph RGW (ceph.sh up)" "$LOGS/ceph-up.log" "$NET_DIR/ceph.sh" up
  if declare -F deploy_if_present >/dev/null; then deploy_if_present; fi
  say "network is up: channel $CHANNEL, 3 orderers, ${#PEERS[@]} peers (network.sh status)"
}

# Stops the named processes together: TERM to each process group, up to 10 s grace, then KILL.
stop_all() { # name...
  local n pid pids=() i alive
  for n in "$@"; do
    [[ -f $PIDS/$n.pid ]] || continue
    pid=$(cat "$PIDS/$n.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$PIDS/$n.pid"
  done
  for i in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
}

pid_names() { # glob under $PIDS -> names
  local f
  for f in "$PIDS"/$1.pid; do [[ -e $f ]] && basename "$f" .pid; done
  return 0
}

cmd_down() {
  if [[ -d $PIDS ]]; then
    # Clients first (gateways, chaincode), then peers, then orderers, then anything else.
    stop_all $(pid_names 'gateway*') $(pid_names 'chaincode*')
    stop_all "${PEERS[@]}"
    stop_all "${ORDERERS[@]}"
    stop_all $(pid_names '*')
  fi
  if [[ -d $STATE/ceph ]]; then "$NET_DIR/ceph.sh" down; fi
  say "network is down"
}

cmd_clean() {
  cmd_down
  rm -rf "$STATE" "$CRYPTO/peerOrganizations" "$CRYPTO/ordererOrganizations"
  say "generated state removed"
}

cmd_status() {
  CFG_BASE=$(fabric_cfg_base)
  local n up=0 total=0 state
  printf '%-15s %-6s %-8s %s\n' NODE STATE PID DETAIL
  for n in "${ORDERERS[@]}"; do
    total=$((total + 1))
    if pid_alive "$n"; then
      up=$((up + 1))
      local info height leader
      info=$(osnadmin "$n" list -c "$CHANNEL" 2>/dev/null || true)
      height=$(sed -n 's/.*"height": *\([0-9]*\).*/\1/p' <<<"$info" | head -1)
      leader=$(metric "$(ops_port "$n")" "consensus_etcdraft_is_leader\\{channel=\"$CHANNEL\"\\}")
      state="channel=$CHANNEL height=${height:-?} raft=$([[ $leader == 1 ]] && echo leader || echo follower) leader_id=$(raft_leader_id "$n")"
      printf '%-15s %-6s %-8s %s\n' "$n" up "$(cat "$PIDS/$n.pid")" "$state"
    else
      printf '%-15s %-6s %-8s %s\n' "$n" down - -
    fi
  done
  for n in "${PEERS[@]}"; do
    total=$((total + 1))
    if pid_alive "$n"; then
      up=$((up + 1))
      local height known
      height=$(peer_height "$n" "$CHANNEL")
      known=$(metric "$(ops_port "$n")" "gossip_membership_total_peers_known\\{channel=\"$CHANNEL\"\\}")
      printf '%-15s %-6s %-8s %s\n' "$n" up "$(cat "$PIDS/$n.pid")" "channel=$CHANNEL height=${height:-?} gossip_peers=${known:-0}"
    else
      printf '%-15s %-6s %-8s %s\n' "$n" down - -
    fi
  done
  local f
  for f in "$PIDS"/chaincode*.pid "$PIDS"/gateway*.pid; do
    [[ -e $f ]] || continue
    n=$(basename "$f" .pid); total=$((total + 1))
    if pid_alive "$n"; then
      up=$((up + 1))
      local org=${n#*.} detail
      case $n in
        chaincode.*) detail="127.0.0.1:$(cc_port "$org")" ;;
        gateway.*)
          detail="https://127.0.0.1:$(gw_port "$org") health=$(curl -s --max-time 5 --cacert "$GW_DIR/$org/tls/ca.crt" \
            "https://127.0.0.1:$(gw_port "$org")/healthz" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')"
          ;;
      esac
      printf '%-15s %-6s %-8s %s\n' "$n" up "$(cat "$f")" "$detail"
    else
      printf '%-15s %-6s %-8s\n' "$n" down -
    fi
  done
  [[ -d $STATE/ceph ]] && "$NET_DIR/ceph.sh" status || true
  say "$up of $total processes up"
  ((up == total))
}

# The Raft node id this orderer last saw become leader (from its log: the metrics only say yes/no).
raft_leader_id() {
  grep -a "Raft leader changed" "$LOGS/$1.log" 2>/dev/null | grep -a "channel=$CHANNEL" | tail -1 | sed -n 's/.*-> \([0-9]*\).*/\1/p'
}

peer_height() { # peer channel
  (
    peer_cli_env "$(peer_org "$1")" Admin "$1"
    "$BIN/peer" channel getinfo -c "$2" 2>/dev/null | sed -n 's/.*"height":\([0-9]*\).*/\1/p'
  )
}

cmd_logs() {
  local node=${1:-}
  [[ -n $node ]] || die "logs (name a node: ${ORDERERS[*]} ${PEERS[*]} chaincode gateway.org1 ...)"
  [[ -f $LOGS/$node.log ]] || die "logs (no log for '$node' in $LOGS)"
  if [[ ${2:-} == -f ]]; then exec tail -n 100 -F "$LOGS/$node.log"; else tail -n "${LINES_TO_SHOW:-200}" "$LOGS/$node.log"; fi
}

# Prints `export` lines for the peer CLI as ORG's USER: eval "$(network.sh env org1 User1)".
cmd_env() {
  local org=${1:-org1} user=${2:-Admin}
  org=$(tr '[:upper:]' '[:lower:]' <<<"${org%MSP}")
  [[ " ${ORGS[*]} " == *" $org "* ]] || die "env (unknown org '$1'; one of ${ORGS[*]})"
  CFG_BASE=$(fabric_cfg_base)
  peer_cli_env "$org" "$user"
  [[ -d $CORE_PEER_MSPCONFIGPATH ]] || die "env (no identity $user in $org: $CORE_PEER_MSPCONFIGPATH)"
  local v
  echo "export PATH=\"$BIN:\$PATH\""
  for v in FABRIC_CFG_PATH FABRIC_LOGGING_SPEC FABRIC_LOGGING_FORMAT CORE_PEER_TLS_ENABLED CORE_PEER_LOCALMSPID CORE_PEER_MSPCONFIGPATH CORE_PEER_ADDRESS CORE_PEER_TLS_ROOTCERT_FILE ORDERER_CA; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  # Endorsing peers of every org, for invokes whose policy needs more than the caller's org.
  local o p
  for o in "${ORGS[@]}"; do
    p=$(org_peer "$o")
    printf 'export PEER_%s=%q\n' "${o^^}" "--peerAddresses 127.0.0.1:$(peer_port "$p") --tlsRootCertFiles $(peer_dir "$p")/tls/ca.crt"
  done
}

# ---------------------------------------------------------------------------------------------
# Chaincode as a service. Each org runs its own chaincode server; its peers dial it (the address is
# in the package's connection.json, so each org installs its own package and approves its own id).
CC_NAME=${SVCFLOW_CC_NAME:-svcflow}
CC_VERSION=1.0
CC_DIR=$STATE/chaincode
CARGO_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CC_BIN=$CARGO_TARGET/release/svcflow-chaincode
cc_port() { case $1 in org1) echo 7100 ;; org2) echo 8100 ;; org3) echo 9100 ;; esac; }
consortium_msps() { local o out=(); for o in "${ORGS[@]}"; do out+=("$(org_msp "$o")"); done; (IFS=,; echo "${out[*]}"); }

# Both binaries in one cargo invocation: built separately, cargo unifies features per selection and
# rebuilds shared crates for each; together the second build is a no-op.
build_bins() { # step-name log
  [[ -f $ROOT/chaincode/Cargo.toml ]] || die "$1 (no chaincode crate at $ROOT/chaincode)"
  command -v protoc >/dev/null || die "$1 (protoc builds the gateway's Fabric client: apt-get install protobuf-compiler libprotobuf-dev)"
  step "$1 (cargo build --release --bins -p svcflow-chaincode -p svcflow-gateway)" "$2" \
    cargo build --release --bins --manifest-path "$ROOT/Cargo.toml" -p svcflow-chaincode -p svcflow-gateway
}

# A key and certificate issued by ORG's TLS CA for 127.0.0.1/localhost, kept in DIR as KIND.{key,crt}
# (plus the CA as ca.crt); issued once.
tls_issue() { # org dir cn kind(server|client) log
  local org=$1 dir=$2 cn=$3 kind=$4 log=$5 ca ext
  ca=$(org_dir "$org")/tlsca
  [[ -f $dir/$kind.crt ]] && return 0
  mkdir -p "$dir"
  ext="keyUsage=critical,digitalSignature,keyEncipherment"$'\n'"extendedKeyUsage=${kind}Auth"$'\n'"subjectAltName=DNS:localhost,IP:127.0.0.1"
  step "TLS key ($cn)" "$log" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$kind.key"
  step "TLS csr ($cn)" "$log" openssl req -new -key "$dir/$kind.key" -subj "/O=$(org_msp "$org")/CN=$cn" -out "$dir/$kind.csr"
  step "TLS cert ($cn)" "$log" openssl x509 -req -in "$dir/$kind.csr" -CA "$ca"/tlsca.*-cert.pem \
    -CAkey "$ca/priv_sk" -set_serial "0x$(openssl rand -hex 16)" -days 3650 -extfile <(printf '%s\n' "$ext") -out "$dir/$kind.crt"
  rm -f "$dir/$kind.csr"
  cp "$ca"/tlsca.*-cert.pem "$dir/ca.crt"
}

# TLS between each org's peers and its chaincode server: a server cert for the chaincode and a
# client cert the peers present when they dial it.
cc_tls() { # org
  local kind
  for kind in server client; do
    tls_issue "$1" "$CC_DIR/$1/tls" "chaincode-$kind.$(org_domain "$1")" "$kind" "$LOGS/chaincode-tls.log"
  done
}

json_pem() { awk 'BEGIN{ORS=""} {printf "%s\\n", $0}' "$1"; } # a PEM file as one JSON string body

# Deterministic package: same inputs give the same bytes, so the same package id on every run.
cc_package() { # org -> prints package path
  local org=$1 work pkg tls=$CC_DIR/$1/tls
  work=$CC_DIR/$org/pkg; pkg=$CC_DIR/$org/$CC_NAME.tar.gz
  rm -rf "$work"; mkdir -p "$work/src"
  printf '{"address":"127.0.0.1:%s","dial_timeout":"10s","tls_required":true,"client_auth_required":true,"client_key":"%s","client_cert":"%s","root_cert":"%s"}\n' \
    "$(cc_port "$org")" "$(json_pem "$tls/client.key")" "$(json_pem "$tls/client.crt")" "$(json_pem "$tls/ca.crt")" >"$work/src/connection.json"
  printf '{"type":"ccaas","label":"%s_%s"}\n' "$CC_NAME" "$CC_VERSION" >"$work/metadata.json"
  local tarflags=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu)
  tar "${tarflags[@]}" -C "$work/src" -cf - connection.json | gzip -n >"$work/code.tar.gz"
  tar "${tarflags[@]}" -C "$work" -cf - code.tar.gz metadata.json | gzip -n >"$pkg"
  echo "$pkg"
}

cc_package_id() { echo "${CC_NAME}_${CC_VERSION}:$(sha256sum "$1" | cut -d' ' -f1)"; }

cc_collections() { # -> path of the collections config for the consortium plus added org sets
  local out=$CC_DIR/collections_config.json sets
  sets=$(consortium_msps)
  [[ -f $STATE/collections.added ]] && sets="$sets;$(paste -sd';' "$STATE/collections.added")"
  step "deployCC: collections config (svcflow-chaincode collections)" "$LOGS/chaincode-build.log" \
    bash -c '"$1" collections "$2" >"$3"' _ "$CC_BIN" "$sets" "$out"
  echo "$out"
}

cc_start() { # org package-id
  local org=$1 id=$2 name=chaincode.$1 port running
  port=$(cc_port "$org")
  # A rebuilt binary needs no new package or lifecycle step, only a restart with the same id.
  running="$id $(stat -c %Y "$CC_BIN" 2>/dev/null)"
  if pid_alive "$name"; then
    [[ $(cat "$CC_DIR/$org/running-id" 2>/dev/null) == "$running" ]] && return 0
    stop_all "$name"
  fi
  ! port_open "$port" || die "start $name (port $port already in use by another process)"
  local tls=$CC_DIR/$org/tls
  CHAINCODE_ID=$id CHAINCODE_SERVER_ADDRESS=127.0.0.1:$port RUST_LOG=${SVCFLOW_CC_LOG:-info} \
  CHAINCODE_TLS_CERT=$tls/server.crt CHAINCODE_TLS_KEY=$tls/server.key CHAINCODE_TLS_CLIENT_CA=$tls/ca.crt \
    spawn "$name" "$LOGS/$name.log" "$CC_BIN" serve
  echo "$running" >"$CC_DIR/$org/running-id"
  wait_port "$name" "$port" "$LOGS/$name.log"
}

committed_sequence() {
  (
    peer_cli_env org1
    local out
    # Fails while nothing is committed: that is sequence 0, not an error.
    out=$("$BIN/peer" lifecycle chaincode querycommitted -C "$CHANNEL" -n "$CC_NAME" -O json 2>/dev/null) || true
    sed -n 's/.*"sequence": *\([0-9]*\).*/\1/p' <<<"$out" | head -1
  )
}

cmd_deploy_cc() {
  CFG_BASE=${CFG_BASE:-$(fabric_cfg_base)}
  mkdir -p "$CC_DIR"
  build_bins "deployCC: build" "$LOGS/chaincode-build.log"
  local org pkg id collections seq digest
  collections=$(cc_collections)
  declare -A ids=()
  for org in "${ORGS[@]}"; do
    mkdir -p "$CC_DIR/$org"
    cc_tls "$org"
    pkg=$(cc_package "$org"); id=$(cc_package_id "$pkg"); ids[$org]=$id
    # The server must listen before the definition is committed: the peer dials it then.
    cc_start "$org" "$id"
  done
  # What the definition must say; unchanged since the last commit means nothing to do.
  digest=$( (sha256sum "$collections"; for org in "${ORGS[@]}"; do echo "${ids[$org]}"; done) | sha256sum | cut -d' ' -f1)
  seq=$(committed_sequence)
  if [[ -n $seq && $(cat "$CC_DIR/committed-digest" 2>/dev/null) == "$digest" ]]; then
    say "chaincode $CC_NAME sequence $seq already committed; servers running"
    return 0
  fi
  seq=$((${seq:-0} + 1))
  local log=$LOGS/deployCC.log p
  for org in "${ORGS[@]}"; do
    pkg=$CC_DIR/$org/$CC_NAME.tar.gz
    for p in "${PEERS[@]}"; do
      [[ $(peer_org "$p") == "$org" ]] || continue
      (
        peer_cli_env "$org" Admin "$p"
        "$BIN/peer" lifecycle chaincode queryinstalled -O json 2>/dev/null | grep -q "\"${ids[$org]}\"" && exit 0
        step "deployCC: install on $p" "$log" "$BIN/peer" lifecycle chaincode install "$pkg"
      ) || exit 1
    done
    (
      peer_cli_env "$org"
      step "deployCC: approve sequence $seq for $(org_msp "$org")" "$log" \
        "$BIN/peer" lifecycle chaincode approveformyorg -o 127.0.0.1:7050 --tls --cafile "$ORDERER_CA" \
        -C "$CHANNEL" -n "$CC_NAME" -v "$CC_VERSION" --sequence "$seq" --package-id "${ids[$org]}" \
        --collections-config "$collections" --waitForEvent
    ) || exit 1
  done
  (
    peer_cli_env org1
    local peers=()
    for org in "${ORGS[@]}"; do
      p=$(org_peer "$org")
      peers+=(--peerAddresses "127.0.0.1:$(peer_port "$p")" --tlsRootCertFiles "$(peer_dir "$p")/tls/ca.crt")
    done
    step "deployCC: commit sequence $seq" "$log" \
      "$BIN/peer" lifecycle chaincode commit -o 127.0.0.1:7050 --tls --cafile "$ORDERER_CA" \
      -C "$CHANNEL" -n "$CC_NAME" -v "$CC_VERSION" --sequence "$seq" \
      --collections-config "$collections" "${peers[@]}" --waitForEvent
  ) || exit 1
  echo "$digest" >"$CC_DIR/committed-digest"
  say "chaincode $CC_NAME committed at sequence $seq; servers on 127.0.0.1:7100/8100/9100"
}

# Adds the collection of one org set to the chaincode definition (sequence + 1).
cmd_add_collection() { # Org1MSP,Org3MSP
  local set=${1:-}
  [[ $set =~ ^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)*$ ]] || die "addCollection (give an org set like Org1MSP,Org3MSP)"
  set=$(tr ',' '\n' <<<"$set" | sort -u | paste -sd,)
  mkdir -p "$STATE"
  if grep -qx "$set" "$STATE/collections.added" 2>/dev/null; then say "org set $set already added"; fi
  echo "$set" >>"$STATE/collections.added"
  sort -u -o "$STATE/collections.added" "$STATE/collections.added"
  cmd_deploy_cc
}

# ---------------------------------------------------------------------------------------------
# REST gateways, one per org (svcflow-gateway), on 7443/8443/9443.
GW_DIR=$STATE/gateway
GW_BIN=$CARGO_TARGET/release/svcflow-gateway
gw_port() { case $1 in org1) echo 7443 ;; org2) echo 8443 ;; org3) echo 9443 ;; esac; }
gw_peers() { # org -> its peers, TOML inline tables, in failover order
  local p out=()
  for p in "${PEERS[@]}"; do
    [[ $(peer_org "$p") == "$1" ]] || continue
    out+=("{ address = \"127.0.0.1:$(peer_port "$p")\", tls_ca = \"$(peer_dir "$p")/tls/ca.crt\" }")
  done
  (IFS=,; echo "${out[*]}")
}

# The file store every gateway shares: Ceph RGW when it runs (ceph.sh up / up -s ceph), else one
# directory on this machine (participants of a phase must read each other's files).
gw_storage() {
  if [[ -f $STATE/ceph/s3.env ]] && port_open "${SVCFLOW_RGW_PORT:-7480}"; then
    (
      set -a; . "$STATE/ceph/s3.env"; set +a
      printf '[storage]\nbackend = "s3"\ns3_endpoint = "%s"\ns3_bucket = "%s"\ns3_region = "%s"\ns3_access_key = "%s"\ns3_secret_key = "%s"\n' \
        "$SVCFLOW_S3_ENDPOINT" "$SVCFLOW_S3_BUCKET" "${SVCFLOW_S3_REGION:-default}" "$SVCFLOW_S3_ACCESS_KEY" "$SVCFLOW_S3_SECRET_KEY"
    )
  else
    printf '[storage]\nbackend = "fs"\npath = "%s"\n' "$STATE/objects"
  fi
}

gw_config() { # org -> path of its gateway.toml
  local org=$1 dir=$GW_DIR/$1
  tls_issue "$org" "$dir/tls" "gateway.$(org_domain "$org")" server "$LOGS/gateway-tls.log"
  cat >"$dir/gateway.toml" <<TOML
# Generated by network.sh for $(org_msp "$org"); SVCFLOW_GW_* variables override any key.
[server]
listen = "127.0.0.1:$(gw_port "$org")"
tls_cert = "$dir/tls/server.crt"
tls_key = "$dir/tls/server.key"
client_ca = ["$(org_dir "$org")/tlsca/$(basename "$(org_dir "$org")"/tlsca/tlsca.*-cert.pem)"]
journal_dir = "$dir/journal"

[fabric]
msp_id = "$(org_msp "$org")"
wallet = "$(org_dir "$org")/users"
peers = [$(gw_peers "$org")]
channel = "$CHANNEL"
chaincode = "$CC_NAME"

$(gw_storage)
TOML
  echo "$dir/gateway.toml"
}

gw_wait_healthy() { # org
  local org=$1 name=gateway.$1 i
  for i in $(seq 1 150); do
    curl -sf --cacert "$GW_DIR/$org/tls/ca.crt" "https://127.0.0.1:$(gw_port "$org")/healthz" >/dev/null && return 0
    pid_alive "$name" || die "start $name (process exited)" "$LOGS/$name.log"
    sleep 0.2
  done
  die "start $name (/healthz not ok after 30 s)" "$LOGS/$name.log"
}

gw_start() { # org [force]: starts it unless it runs this binary with this config already
  local org=$1 force=${2:-} name=gateway.$1 cfg running
  mkdir -p "$GW_DIR/$org"
  cfg=$(gw_config "$org")
  running="$(stat -c %Y "$GW_BIN" 2>/dev/null) $(sha256sum <"$cfg" | cut -d' ' -f1)"
  if pid_alive "$name" && [[ -z $force && $(cat "$GW_DIR/$org/running-id" 2>/dev/null) == "$running" ]]; then return 0; fi
  stop_all "$name"
  ! port_open "$(gw_port "$org")" || die "start $name (port $(gw_port "$org") already in use by another process)"
  SVCFLOW_GW_LOG=${SVCFLOW_GW_LOG:-info} spawn "$name" "$LOGS/$name.log" "$GW_BIN" --config "$cfg"
  echo "$running" >"$GW_DIR/$org/running-id"
}

# Builds the gateway and starts every org's gateway that is not running this build and config
# (after a rebuild or a change of store they restart; otherwise they are left alone).
cmd_gateways() {
  mkdir -p "$GW_DIR" "$LOGS"
  build_bins "gateways: build" "$LOGS/gateway-build.log"
  local org
  for org in "${ORGS[@]}"; do gw_start "$org"; done
  for org in "${ORGS[@]}"; do gw_wait_healthy "$org"; done
  say "gateways up: https://127.0.0.1:7443 (Org1) :8443 (Org2) :9443 (Org3), store: $(gw_storage | sed -n 's/^backend = "\(.*\)"/\1/p')"
}

deploy_if_present() {
  [[ -f $ROOT/chaincode/src/main.rs ]] || { say "no chaincode binary crate yet: skipping deployCC"; return 0; }
  cmd_deploy_cc
  [[ -f $ROOT/gateway/src/main.rs ]] && cmd_gateways
  return 0
}

usage() {
  cat <<EOF
Usage: fabric-network/network.sh <verb> [options]

Verbs:
  install              get Fabric $FABRIC_VERSION binaries into $BIN (a no-op when they are there):
                       from SVCFLOW_FABRIC_SRC if set, else go install at the pinned commit
  up [-s ceph]         install if needed, crypto, 3 orderers, channel '$CHANNEL', 4 peers joined;
                       then the chaincode and gateways once they exist. -s ceph also starts Ceph RGW.
  down                 stop every process started here (by PID file); state is kept
  clean                down, then wipe generated state (ledgers, crypto, blocks, logs, objects)
  status               each process up or down; orderers' Raft role and height; peers' height
  createChannel -c N   create and join one more channel N
  deployCC             build, package, install, approve (all orgs), commit the chaincode; start its servers
  addCollection ORGS   add the collection of an org set (e.g. Org1MSP,Org3MSP) to the definition
  gateways             build the REST gateways; (re)start those not running this build and config
                       (Org1 7443, Org2 8443, Org3 9443)
  logs NODE [-f]       show (or follow) a node's log: ${ORDERERS[*]} ${PEERS[*]} ...
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
    addCollection) cmd_add_collection "${args[@]}" ;;
    gateways) cmd_gateways ;;
    logs) cmd_logs "${args[@]}" ;;
    env) cmd_env "${args[@]}" ;;
    -h | --help | help) usage ;;
    "") usage; exit 1 ;;
    *) say "network.sh: unknown verb '$verb'"; usage >&2; exit 1 ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
