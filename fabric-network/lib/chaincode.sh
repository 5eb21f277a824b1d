# shellcheck shell=bash
# Chaincode deployment: chaincode as a service. Each org runs its own chaincode server; its peers
# dial it (the address is in the package's connection.json, so each org installs its own package
# and approves its own id). The deployCC verb, CCaaS packaging, the chaincode servers, and the
# release build of the Rust binaries (the gateways' too). Needs lib/common.sh, lib/topology.sh and
# lib/fabric.sh; sourced by network.sh and the tests.
CC_NAME=${SVCFLOW_CC_NAME:-svcflow}
CC_VERSION=1.0
CC_DIR=$STATE/chaincode
CARGO_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CC_BIN=$CARGO_TARGET/release/svcflow-chaincode
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

# Phases keep each participant org's copy of their data in Fabric's implicit collection
# `_implicit_org_<MSP>`, which every org of the channel has with no definition: a new network's
# chaincode definition names no collections. A network deployed by older scripts committed one
# collection per org set, and its collections config is still in its state: Fabric refuses a
# definition that drops a collection, and its phases keep their data in those `col_*`
# collections, so every later definition passes that same file again.
cc_collections() { # committed-definition-json -> path of the kept collections config, or nothing
  local kept=$CC_DIR/collections_config.json
  if [[ -f $kept ]]; then echo "$kept"; return 0; fi
  # Without the file no definition may name collections: say so rather than let Fabric refuse.
  [[ -z $1 || $(jq -r '.collections.config // [] | length' <<<"$1" 2>/dev/null) == 0 ]] ||
    die "deployCC (the committed definition of $CC_NAME names collections but $kept, which older scripts wrote, is gone: Fabric refuses a definition that drops a collection; restore the file, or start anew with: network.sh clean)"
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

committed_definition() { # -> the committed definition as JSON, or nothing
  (
    peer_cli_env org1
    # Fails while nothing is committed: that is no definition, not an error.
    "$BIN/peer" lifecycle chaincode querycommitted -C "$CHANNEL" -n "$CC_NAME" -O json 2>/dev/null || true
  )
}
sequence_of() { jq -r '.sequence // empty' <<<"$1" 2>/dev/null || true; } # definition-json -> its sequence

cmd_deploy_cc() {
  CFG_BASE=${CFG_BASE:-$(fabric_cfg_base)}
  mkdir -p "$CC_DIR"
  build_bins "deployCC: build" "$LOGS/chaincode-build.log"
  local org pkg id collections seq digest committed
  declare -A pkg_ids=()
  for org in "${ORGS[@]}"; do
    mkdir -p "$CC_DIR/$org"
    cc_tls "$org"
    pkg=$(cc_package "$org"); id=$(cc_package_id "$pkg"); pkg_ids[$org]=$id
    # The server must listen before the definition is committed: the peer dials it then.
    cc_start "$org" "$id"
  done
  committed=$(committed_definition)
  seq=$(sequence_of "$committed")
  collections=$(cc_collections "$committed") || exit 1
  local with_collections=()
  [[ -z $collections ]] || with_collections=(--collections-config "$collections")
  # What the definition must say; unchanged since the last commit means nothing to do. A kept
  # collections config counts as before (its sha256sum line), so a network deployed by older
  # scripts is not committed again just for a newer script; none counts as a fixed line.
  digest=$( (if [[ -n $collections ]]; then sha256sum "$collections"; else echo "no collections"; fi
    for org in "${ORGS[@]}"; do echo "${pkg_ids[$org]}"; done) | sha256sum | cut -d' ' -f1)
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
        # not grep -q: with pipefail a listing cut short by it fails (see orderer_join)
        "$BIN/peer" lifecycle chaincode queryinstalled -O json 2>/dev/null | grep "\"${pkg_ids[$org]}\"" >/dev/null && exit 0
        step "deployCC: install on $p" "$log" "$BIN/peer" lifecycle chaincode install "$pkg"
      ) || exit 1
    done
    (
      peer_cli_env "$org"
      step "deployCC: approve sequence $seq for $(org_msp "$org")" "$log" \
        "$BIN/peer" lifecycle chaincode approveformyorg -o "$(orderer_address)" --tls --cafile "$ORDERER_CA" \
        -C "$CHANNEL" -n "$CC_NAME" -v "$CC_VERSION" --sequence "$seq" --package-id "${pkg_ids[$org]}" \
        "${with_collections[@]}" --waitForEvent
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
      "${with_collections[@]}" "${endorsers[@]}" --waitForEvent
  ) || exit 1
  echo "$digest" >"$CC_DIR/committed-digest"
  say "chaincode $CC_NAME committed at sequence $seq; servers on $(cc_ports)"
}
