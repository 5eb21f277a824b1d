# shellcheck shell=bash
# The Fabric network as native processes on 127.0.0.1: settings, install (the pinned Fabric
# binaries), crypto, orderers, peers, channels, and the status, logs and env verbs. Needs
# lib/common.sh and lib/topology.sh; sourced by network.sh and the tests.

STATE=${SVCFLOW_STATE_DIR:-$NET_DIR/.state}
LOGS=$STATE/logs
PIDS=$STATE/pids
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
# Plain (uncoloured) log lines in files; gRPC's connection chatter only from warnings up.
export FABRIC_LOGGING_FORMAT=${FABRIC_LOGGING_FORMAT:-'%{time:2006-01-02 15:04:05.000 MST} %{level:.4s} [%{module}] %{shortfunc} -> %{message}'}
LOG_SPEC_DEFAULT='grpc=warn:info'
ORDERER_TLS_CA=$ORDERER_ORG_DIR/tlsca/tlsca.$ORDERER_DOMAIN-cert.pem
ORDERER_ADMIN_TLS=$ORDERER_ORG_DIR/users/Admin@$ORDERER_DOMAIN/tls

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

# --- install ---------------------------------------------------------------------------------
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
  local modcache dirs
  modcache=$(go env GOMODCACHE)
  dirs=("$modcache"/github.com/hyperledger/fabric@*"${FABRIC_COMMIT:0:12}"/sampleconfig)
  keep_config "${dirs[0]}"
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

# --- crypto, orderers, peers, channels ----------------------------------------------------------
cmd_crypto() {
  [[ -d $CRYPTO/peerOrganizations && -d $CRYPTO/ordererOrganizations ]] && return 0
  step "crypto (cryptogen generate)" "$LOGS/crypto.log" \
    "$BIN/cryptogen" generate --config "$CRYPTO/crypto-config.yaml" --output "$CRYPTO"
}

# A key and certificate issued by ORG's TLS CA for 127.0.0.1/localhost, kept in DIR as KIND.{key,crt}
# (plus the CA as ca.crt); issued once. For the chaincode servers and the gateways.
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

channel_block() { echo "$STATE/channel-artifacts/$1.block"; }

# configtx.yaml with the block cutting of SVCFLOW_BATCH_TIMEOUT, SVCFLOW_BATCH_MAX_COUNT and
# SVCFLOW_BATCH_PREFERRED_BYTES when set (for benchmarks; a channel keeps the values it was
# created with): the directory configtxgen reads.
configtx_dir() {
  if [[ -z ${SVCFLOW_BATCH_TIMEOUT:-}${SVCFLOW_BATCH_MAX_COUNT:-}${SVCFLOW_BATCH_PREFERRED_BYTES:-} ]]; then
    echo "$NET_DIR"; return
  fi
  local dir=$STATE/configtx edits=()
  mkdir -p "$dir"
  # Its paths are relative to its own directory: they point at the crypto from the copy too.
  edits+=(-e "s#\.\./crypto-config/#$CRYPTO/#g")
  [[ -n ${SVCFLOW_BATCH_TIMEOUT:-} ]] && edits+=(-e "s/^  BatchTimeout: .*/  BatchTimeout: $SVCFLOW_BATCH_TIMEOUT/")
  [[ -n ${SVCFLOW_BATCH_MAX_COUNT:-} ]] && edits+=(-e "s/^    MaxMessageCount: .*/    MaxMessageCount: $SVCFLOW_BATCH_MAX_COUNT/")
  [[ -n ${SVCFLOW_BATCH_PREFERRED_BYTES:-} ]] && edits+=(-e "s/^    PreferredMaxBytes: .*/    PreferredMaxBytes: $SVCFLOW_BATCH_PREFERRED_BYTES/")
  sed "${edits[@]}" "$NET_DIR/configtx.yaml" >"$dir/configtx.yaml"
  echo "$dir"
}

make_genesis() { # channel
  local block
  block=$(channel_block "$1")
  [[ -f $block ]] && return 0
  mkdir -p "$(dirname "$block")"
  step "genesis block for channel $1 (configtxgen)" "$LOGS/configtxgen.log" \
    "$BIN/configtxgen" -configPath "$(configtx_dir)" -profile SvcflowChannel -channelID "$1" -outputBlock "$block"
}

start_orderer() {
  local name=$1 dir port log data
  dir=$(orderer_dir "$name"); port=$(orderer_port "$name"); log=$LOGS/$name.log; data=$STATE/$name
  pid_alive "$name" && return 0
  ! port_open "$port" || die "start $name (port $port already in use by another process; see README 'Troubleshooting')"
  mkdir -p "$data"
  FABRIC_CFG_PATH=$CFG_BASE \
  FABRIC_LOGGING_SPEC=${SVCFLOW_ORDERER_LOGGING:-$LOG_SPEC_DEFAULT} \
  GOGC=${SVCFLOW_GOGC:-100} \
  ORDERER_GENERAL_LISTENADDRESS=127.0.0.1 \
  ORDERER_GENERAL_LISTENPORT=$port \
  ORDERER_GENERAL_LOCALMSPID="$(topo ordererorg msp)" \
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
  # grep reads the whole list: with pipefail, a grep -q that stops at the first match would fail
  # the pipeline whenever the lister writes on after it (SIGPIPE), e.g. with a second channel.
  osnadmin "$1" list 2>/dev/null | grep "\"name\": \"$2\"" >/dev/null && return 0
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
  export CORE_PEER_ADDRESS; CORE_PEER_ADDRESS=127.0.0.1:$(peer_port "$peer")
  export CORE_PEER_TLS_ROOTCERT_FILE; CORE_PEER_TLS_ROOTCERT_FILE=$(peer_dir "$peer")/tls/ca.crt
  export ORDERER_CA=$ORDERER_TLS_CA
}

start_peer() {
  local name=$1 org dir port log data bootstrap
  org=$(peer_org "$name"); dir=$(peer_dir "$name"); port=$(peer_port "$name"); log=$LOGS/$name.log; data=$STATE/$name
  pid_alive "$name" && return 0
  ! port_open "$port" || die "start $name (port $port already in use by another process; see README 'Troubleshooting')"
  # Gossip bootstraps from the org's other peer; a single-peer org points at itself.
  # A transaction that commits invalid may have written an org's implicit collection without that
  # org's peer (a client that asked too few endorsers): nobody may serve that org the data, and by
  # default its peers would wait the pull threshold (60 s) on every such block before committing.
  # An endorser pushes its org's copy to one other peer of its org (Fabric's default), which then
  # holds it should the endorser fail before the rest pull it; none (SVCFLOW_IMPLICIT_MAX_PEERS=0)
  # cost no less in one run (docs/benchmarks.md, issue 21).
  bootstrap=127.0.0.1:$(peer_port "$(peer_bootstrap "$name")")
  mkdir -p "$data"
  FABRIC_CFG_PATH=$CFG_BASE \
  FABRIC_LOGGING_SPEC=${SVCFLOW_PEER_LOGGING:-$LOG_SPEC_DEFAULT} \
  GOGC=${SVCFLOW_GOGC:-100} \
  CORE_PEER_ID="$(peer_host "$name")" \
  CORE_PEER_NETWORKID=svcflow \
  CORE_PEER_LISTENADDRESS=127.0.0.1:$port \
  CORE_PEER_ADDRESS=127.0.0.1:$port \
  CORE_PEER_CHAINCODELISTENADDRESS=127.0.0.1:$(peer_cc_port "$name") \
  CORE_PEER_GOSSIP_BOOTSTRAP=$bootstrap \
  CORE_PEER_GOSSIP_ENDPOINT=127.0.0.1:$port \
  CORE_PEER_GOSSIP_EXTERNALENDPOINT=127.0.0.1:$port \
  CORE_PEER_GOSSIP_RECONNECTINTERVAL=2s \
  CORE_PEER_GOSSIP_PVTDATA_SKIPPULLINGINVALIDTRANSACTIONSDURINGCOMMIT=true \
  CORE_PEER_GOSSIP_PVTDATA_IMPLICITCOLLECTIONDISSEMINATIONPOLICY_MAXPEERCOUNT=${SVCFLOW_IMPLICIT_MAX_PEERS:-1} \
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
  CORE_VM_ENDPOINT='' \
  CORE_CHAINCODE_EXTERNALBUILDERS="[{\"name\":\"svcflow-ccaas\",\"path\":\"$NET_DIR/builders/ccaas\"}]" \
    spawn "$name" "$log" "$BIN/peer" node start
  wait_port "$name" "$port" "$log"
}

peer_join() { # peer channel
  local peer=$1 ch=$2
  (
    peer_cli_env "$(peer_org "$peer")" Admin "$peer"
    "$BIN/peer" channel list 2>/dev/null | grep -x "$ch" >/dev/null && exit 0 # not -q: see orderer_join
    step "join $peer to channel $ch (peer channel join)" "$LOGS/peer-cli.log" \
      "$BIN/peer" channel join -b "$(channel_block "$ch")"
  ) || exit 1
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
  die "Raft leader election on channel $1 (no single leader after 30 s)" "$LOGS/${ORDERERS[0]}.log"
}

create_channel() { # channel
  local o p
  make_genesis "$1"
  for o in "${ORDERERS[@]}"; do orderer_join "$o" "$1"; done
  wait_raft_leader "$1"
  for p in "${PEERS[@]}"; do peer_join "$p" "$1"; done
  ensure_block_acl "$1"
}

# Only org admins take blocks from a peer (configtx.yaml: ACL event/Block -> BlockReaders, "ANY
# Admins"): DeliverWithPrivateData would otherwise hand any client of a member org the private
# writes of every collection its org may see. A channel created before that gets both by a config
# update signed by a majority of its orgs' admins (the Application's Admins policy); one that has
# them is left alone, so every `up` may call this.
as_admin() { (peer_cli_env "$1" && shift && "$@"); } # org cmd...: CMD as ORG's admin (peer CLI env)
ensure_block_acl() { # channel
  local ch=$1 dir=$STATE/config-update/$1 log=$LOGS/config-update.log x o at="" t
  mkdir -p "$dir"
  # From any orderer that answers (one may be restarting: `up` after a node was killed), for 30 s.
  for ((t = 0; t < 30; t++)); do
    [[ -z $at ]] || break
    for o in "${ORDERERS[@]}"; do
      if (peer_cli_env "${ORGS[0]}" && "$BIN/peer" channel fetch config "$dir/config.pb" -o "127.0.0.1:$(orderer_port "$o")" -c "$ch" --tls --cafile "$ORDERER_TLS_CA") >>"$log" 2>&1; then
        at=127.0.0.1:$(orderer_port "$o")
        break
      fi
    done
    [[ -n $at ]] || sleep 1
  done
  [[ -n $at ]] || die "fetch channel $ch's config (to check its event/Block ACL)" "$log"
  "$BIN/configtxlator" proto_decode --input "$dir/config.pb" --type common.Block | jq '.data.data[0].payload.data.config' >"$dir/old.json"
  jq -e '.channel_group.groups.Application.values.ACLs.value.acls["event/Block"].policy_ref == "/Channel/Application/BlockReaders"' "$dir/old.json" >/dev/null && return 0
  jq '.channel_group.groups.Application.policies.BlockReaders = {mod_policy: "Admins", policy: {type: 3, value: {rule: "ANY", sub_policy: "Admins"}}}
    | .channel_group.groups.Application.values.ACLs = {mod_policy: "Admins",
        value: {acls: ((.channel_group.groups.Application.values.ACLs.value.acls // {}) + {"event/Block": {policy_ref: "/Channel/Application/BlockReaders"}})}}' \
    "$dir/old.json" >"$dir/new.json"
  for x in old new; do "$BIN/configtxlator" proto_encode --input "$dir/$x.json" --type common.Config --output "$dir/$x.pb"; done
  "$BIN/configtxlator" compute_update --channel_id "$ch" --original "$dir/old.pb" --updated "$dir/new.pb" --output "$dir/update.pb" >>"$log" 2>&1 ||
    die "compute channel $ch's ACL update" "$log"
  "$BIN/configtxlator" proto_decode --input "$dir/update.pb" --type common.ConfigUpdate |
    jq --arg ch "$ch" '{payload: {header: {channel_header: {channel_id: $ch, type: 2}}, data: {config_update: .}}}' >"$dir/env.json"
  "$BIN/configtxlator" proto_encode --input "$dir/env.json" --type common.Envelope --output "$dir/env.pb"
  # The channel's orgs, a majority of whose admins sign (the last one by submitting).
  local -a msps=()
  mapfile -t msps < <(jq -r '.channel_group.groups.Application.groups | keys[]' "$dir/old.json")
  local need=$((${#msps[@]} / 2 + 1)) i org
  for ((i = 0; i < need; i++)); do
    org=$(org_of_msp "${msps[$i]}") || die "sign channel $ch's ACL update (no org of the topology has MSP ${msps[$i]})"
    if ((i < need - 1)); then
      step "channel $ch: $org's admin signs the event/Block ACL update" "$log" as_admin "$org" "$BIN/peer" channel signconfigtx -f "$dir/env.pb"
    else
      step "channel $ch: only org admins take blocks from a peer (ACL event/Block, submitted by $org's admin)" "$log" \
        as_admin "$org" "$BIN/peer" channel update -f "$dir/env.pb" -c "$ch" -o "$at" --tls --cafile "$ORDERER_TLS_CA"
    fi
  done
}
# --- the verbs -------------------------------------------------------------------------------
# The network itself: install if needed, crypto, orderers, peers, channel, gossip.
fabric_up() {
  cmd_install
  CFG_BASE=$(fabric_cfg_base)
  mkdir -p "$LOGS" "$PIDS"
  cmd_crypto
  local n
  for n in "${ORDERERS[@]}"; do start_orderer "$n"; done
  for n in "${PEERS[@]}"; do start_peer "$n"; done
  create_channel "$CHANNEL"
  wait_gossip
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
      local detail
      case $n in
        chaincode.*) detail=$(cc_status "${n#*.}") ;;
        gateway.*) detail=$(gw_status "${n#*.}") ;;
      esac
      printf '%-15s %-6s %-8s %s\n' "$n" up "$(cat "$f")" "$detail"
    else
      printf '%-15s %-6s %-8s\n' "$n" down -
    fi
  done
  if [[ -d $STATE/ceph ]]; then "$NET_DIR/ceph.sh" status || true; fi
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
