# shellcheck shell=bash
# Chaincode deployment: chaincode as a service. Each org runs its own chaincode server; its peers
# dial it (the address is in the package's connection.json, so each org installs its own package
# and approves its own id). The deployCC and addCollection verbs, CCaaS packaging, the chaincode
# servers, and the release build of the Rust binaries (the gateways' too). Needs lib/common.sh,
# lib/topology.sh and lib/fabric.sh; sourced by network.sh and the tests.
CC_NAME=${SVCFLOW_CC_NAME:-svcflow}
CC_VERSION=1.0
CC_DIR=$STATE/chaincode
CARGO_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CC_BIN=$CARGO_TARGET/release/svcflow-chaincode
consortium_msps() { local o msps=(); for o in "${ORGS[@]}"; do msps+=("$(org_msp "$o")"); done; (IFS=,; echo "${msps[*]}"); }
# The servers' addresses for messages: 127.0.0.1:7100/8100/9100.
cc_ports() { local o ports=(); for o in "${ORGS[@]}"; do ports+=("$(cc_port "$o")"); done; (IFS=/; echo "127.0.0.1:${ports[*]}"); }
cc_status() { echo "127.0.0.1:$(cc_port "$1")"; } # org -> the detail of its line in `status`

# Both binaries in one cargo invocation: built separately, cargo unifies features per selection and
# rebuilds shared crates for each; together the second build is a no-op.
build_bins() { # step-name log
  [[ -f $ROOT/chaincode/Cargo.toml ]] || die "$1 (no chaincode crate at $ROOT/chaincode)"
  command -v protoc >/dev/null || die "$1 (protoc builds the gateway's Fabric client: run scripts/install-deps)"
  step "$1 (cargo build --release --bins -p svcflow-chaincode -p svcflow-gateway)" "$2" \
    cargo build --release --bins --manifest-path "$ROOT/Cargo.toml" -p svcflow-chaincode -p svcflow-gateway
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
  local out=$CC_DIR/collections_config.json sets only
  sets=$(consortium_msps)
  [[ -f $STATE/collections.added ]] && sets="$sets;$(paste -sd';' "$STATE/collections.added")"
  only=$(cc_org_sets) || exit 1
  step "deployCC: collections config (svcflow-chaincode collections)" "$LOGS/chaincode-build.log" \
    cc_collections_write "$sets" "$only" "$out"
  echo "$out"
}

# The org sets the definition's collections are limited to: SVCFLOW_ORG_SETS (e.g.
# "Org1MSP,Org2MSP;Org1MSP,Org2MSP,Org3MSP") as given at the first deployCC of the network, kept
# in the state; empty for every set of the consortium. Fabric refuses a definition that drops a
# collection, so it cannot change later: addCollection adds a set.
cc_org_sets() {
  local kept=$STATE/org-sets
  if [[ -f $kept ]]; then
    [[ -z ${SVCFLOW_ORG_SETS:-} || $SVCFLOW_ORG_SETS == "$(cat "$kept")" ]] ||
      die "deployCC (SVCFLOW_ORG_SETS=$SVCFLOW_ORG_SETS, but this network's collections were limited to $(cat "$kept") when it was deployed; add a set with: network.sh addCollection ORGS, or start anew with: network.sh clean)"
    cat "$kept"
  elif [[ -n ${SVCFLOW_ORG_SETS:-} ]]; then
    [[ -z $(committed_sequence) ]] ||
      die "deployCC (SVCFLOW_ORG_SETS applies to a new network: this one's definition already has every org set, and Fabric refuses to drop a collection; network.sh clean starts anew)"
    echo "$SVCFLOW_ORG_SETS" >"$kept"
    echo "$SVCFLOW_ORG_SETS"
  fi
}

# SVCFLOW_PVT_MAX_PEERS, when set, replaces every collection's maxPeerCount (how many other member
# peers an endorser pushes a transaction's private data to; those it does not push to pull it at
# commit): for benchmarks, on a new network.
# SVCFLOW_COLLECTIONS_EP=signature: every collection carries its endorsement policy instead of
# naming the channel's (as before that change; for the benchmark's before/after).
cc_collections_write() { # org-sets only-sets file
  local only=()
  [[ -n $2 ]] && only=(--only "$2")
  "$CC_BIN" collections "$1" "${only[@]}" |
    jq --arg n "${SVCFLOW_PVT_MAX_PEERS:-}" --arg ep "${SVCFLOW_COLLECTIONS_EP:-}" '
      (if $n == "" then . else map(.maxPeerCount = ($n | tonumber)) end)
      | (if $ep != "signature" then . else map(.endorsementPolicy = {signaturePolicy:
          "AND(\(.name | ltrimstr("col_") | split("_") | map("\u0027\(.).peer\u0027") | join(",")))"}) end)' >"$3"
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
  CHAINCODE_PEER_MSP_ID=$(org_msp "$org") \
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
  collections=$(cc_collections) || exit 1
  declare -A pkg_ids=()
  for org in "${ORGS[@]}"; do
    mkdir -p "$CC_DIR/$org"
    cc_tls "$org"
    pkg=$(cc_package "$org"); id=$(cc_package_id "$pkg"); pkg_ids[$org]=$id
    # The server must listen before the definition is committed: the peer dials it then.
    cc_start "$org" "$id"
  done
  # What the definition must say; unchanged since the last commit means nothing to do.
  digest=$( (sha256sum "$collections"; for org in "${ORGS[@]}"; do echo "${pkg_ids[$org]}"; done) | sha256sum | cut -d' ' -f1)
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
        "$BIN/peer" lifecycle chaincode queryinstalled -O json 2>/dev/null | grep -q "\"${pkg_ids[$org]}\"" && exit 0
        step "deployCC: install on $p" "$log" "$BIN/peer" lifecycle chaincode install "$pkg"
      ) || exit 1
    done
    (
      peer_cli_env "$org"
      step "deployCC: approve sequence $seq for $(org_msp "$org")" "$log" \
        "$BIN/peer" lifecycle chaincode approveformyorg -o "$(orderer_address)" --tls --cafile "$ORDERER_CA" \
        -C "$CHANNEL" -n "$CC_NAME" -v "$CC_VERSION" --sequence "$seq" --package-id "${pkg_ids[$org]}" \
        --collections-config "$collections" --waitForEvent
    ) || exit 1
  done
  (
    peer_cli_env org1
    local endorsers=()
    for org in "${ORGS[@]}"; do
      p=$(org_peer "$org")
      endorsers+=(--peerAddresses "127.0.0.1:$(peer_port "$p")" --tlsRootCertFiles "$(peer_dir "$p")/tls/ca.crt")
    done
    step "deployCC: commit sequence $seq" "$log" \
      "$BIN/peer" lifecycle chaincode commit -o "$(orderer_address)" --tls --cafile "$ORDERER_CA" \
      -C "$CHANNEL" -n "$CC_NAME" -v "$CC_VERSION" --sequence "$seq" \
      --collections-config "$collections" "${endorsers[@]}" --waitForEvent
  ) || exit 1
  echo "$digest" >"$CC_DIR/committed-digest"
  say "chaincode $CC_NAME committed at sequence $seq; servers on $(cc_ports)"
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

