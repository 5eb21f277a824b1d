# shellcheck shell=bash
# Gateway deployment: the REST gateways, one per org (svcflow-gateway), on the orgs' gateway ports
# of the topology. The gateways verb, their TLS, their config (rendered from
# fabric-network/templates/gateway.toml) and their status lines. Needs lib/common.sh,
# lib/topology.sh, lib/fabric.sh and lib/chaincode.sh (CC_NAME, build_bins); sourced by network.sh
# and the tests.
GW_DIR=$STATE/gateway
GW_BIN=$CARGO_TARGET/release/svcflow-gateway
GW_TEMPLATE=$NET_DIR/templates/gateway.toml

gw_peers() { # org -> its peers, TOML inline tables, in failover order
  local p out=()
  for p in $(org_peers "$1"); do
    out+=("{ address = \"127.0.0.1:$(peer_port "$p")\", tls_ca = \"$(peer_dir "$p")/tls/ca.crt\" }")
  done
  (IFS=,; echo "${out[*]}")
}

# The file store: Ceph RGW when it runs (ceph.sh up / up -s ceph), each org's gateway as its own
# RGW user, in buckets of its own that the phase's participant orgs may read; else one directory
# on this machine that every gateway shares (participants of a phase must read each other's files).
gw_backend() {
  if [[ -f $STATE/ceph/s3.env ]] && port_open "$(rgw_port)"; then echo s3; else echo fs; fi
}

gw_config() { # org -> path of its gateway.toml
  local org=$1 dir=$GW_DIR/$1 ca creds
  tls_issue "$org" "$dir/tls" "gateway.$(org_domain "$org")" server "$LOGS/gateway-tls.log"
  # The gateway refuses a wallet key others may read; cryptogen writes them 0600, a copy or an
  # unpacked archive may not.
  find "$(org_dir "$org")/users" -path '*/msp/keystore/*' -type f ! -perm 600 -exec chmod 600 {} +
  ca=("$(org_dir "$org")"/tlsca/tlsca.*-cert.pem)
  local -A values=(
    [msp_id]=$(org_msp "$org") [port]=$(gw_port "$org") [dir]=$dir [client_ca]=${ca[0]}
    [wallet]=$(org_dir "$org")/users [peers]=$(gw_peers "$org") [channel]=$CHANNEL [chaincode]=$CC_NAME
    [backend]=$(gw_backend)
  )
  if [[ ${values[backend]} == s3 ]]; then
    (
      load_env "$STATE/ceph/s3.env"
      creds=$STATE/ceph/s3/$org
      [[ -s $creds.access && -s $creds.secret ]] || die "gateway config of $org (no RGW user of its own: $creds.access; run ceph.sh up)"
      # The org's own RGW user only (ceph.sh makes one per org): its secret goes in a file of its
      # own that only its owner reads (the gateway refuses anything laxer), not into the config.
      (umask 077 && cp "$creds.secret" "$dir/s3.secret" && chmod 600 "$dir/s3.secret")
      values+=([s3_endpoint]=$SVCFLOW_S3_ENDPOINT [s3_bucket]=$SVCFLOW_S3_BUCKET [s3_region]=${SVCFLOW_S3_REGION:-default}
        [s3_access_key]=$(cat "$creds.access") [s3_secret_file]=$dir/s3.secret [s3_bucket_registry]=$dir/buckets.tsv)
      render "$GW_TEMPLATE" values
    ) >"$dir/gateway.toml"
  else
    values[fs_path]=$STATE/objects
    render "$GW_TEMPLATE" values >"$dir/gateway.toml"
  fi
  echo "$dir/gateway.toml"
}

gw_wait_healthy() { # org
  local org=$1 name=gateway.$1
  for _ in $(seq 1 150); do
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
  # A new S3 secret (Ceph bootstrapped again) changes the secret file, not the config: both count.
  # (The fs store has no secret file: its absence is no error.)
  running="$(stat -c %Y "$GW_BIN" 2>/dev/null) $({ cat "$cfg"; cat "$GW_DIR/$org/s3.secret" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)"
  if pid_alive "$name" && [[ -z $force && $(cat "$GW_DIR/$org/running-id" 2>/dev/null) == "$running" ]]; then return 0; fi
  stop_all "$name"
  ! port_open "$(gw_port "$org")" || die "start $name (port $(gw_port "$org") already in use by another process)"
  SVCFLOW_GW_LOG=${SVCFLOW_GW_LOG:-info} spawn "$name" "$LOGS/$name.log" "$GW_BIN" --config "$cfg"
  echo "$running" >"$GW_DIR/$org/running-id"
}

gw_status() { # org -> the detail of its line in `status`
  echo "https://127.0.0.1:$(gw_port "$1") health=$(curl -s --max-time 5 --cacert "$GW_DIR/$1/tls/ca.crt" \
    "https://127.0.0.1:$(gw_port "$1")/healthz" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')"
}

# The gateways' addresses for messages: https://127.0.0.1:7443 (Org1) :8443 (Org2) :9443 (Org3).
gw_addresses() {
  local o msp addrs=""
  for o in "${ORGS[@]}"; do msp=$(org_msp "$o"); addrs+="${addrs:+ }:$(gw_port "$o") (${msp%MSP})"; done
  echo "https://127.0.0.1$addrs"
}

# Builds the gateway and starts every org's gateway that is not running this build and config
# (after a rebuild or a change of store they restart; otherwise they are left alone).
cmd_gateways() {
  mkdir -p "$GW_DIR" "$LOGS"
  build_bins "gateways: build" "$LOGS/gateway-build.log"
  local org
  for org in "${ORGS[@]}"; do gw_start "$org"; done
  for org in "${ORGS[@]}"; do gw_wait_healthy "$org"; done
  say "gateways up: $(gw_addresses), store: $(gw_backend)"
}

# The gateways' ports for the help text: Org1 7443, Org2 8443, Org3 9443.
gw_ports() {
  local o msp list=""
  for o in "${ORGS[@]}"; do msp=$(org_msp "$o"); list+="${list:+, }${msp%MSP} $(gw_port "$o")"; done
  echo "$list"
}

# A user's TLS client certificate and key as one PKCS#12 file, for a browser: the dashboard
# (https://127.0.0.1:<gateway port>/) knows its user by this certificate. Password:
# SVCFLOW_P12_PASSWORD, "svcflow" by default (browsers' import dialogs want one).
cmd_p12() { # org user [file]
  local org=${1:-} user=${2:-User1}
  org=$(tr '[:upper:]' '[:lower:]' <<<"${org%MSP}")
  [[ " ${ORGS[*]} " == *" $org "* ]] || die "p12 (unknown org '${1:-}'; one of ${ORGS[*]})"
  local name tls p12
  name=$user@$(org_domain "$org")
  tls=$(org_dir "$org")/users/$name/tls
  [[ -f $tls/client.crt ]] || die "p12 (no identity $user in $org: $tls; run network.sh up first)"
  p12=${3:-$STATE/p12/$name.p12}
  mkdir -p "$(dirname "$p12")"
  (umask 077 && P12_PASS=${SVCFLOW_P12_PASSWORD:-svcflow} openssl pkcs12 -export -inkey "$tls/client.key" -in "$tls/client.crt" \
    -name "$name" -out "$p12" -passout env:P12_PASS) || die "p12 (openssl pkcs12 -export)"
  say "wrote $p12 (password: ${SVCFLOW_P12_PASSWORD:-svcflow}): $name's client certificate and key"
  say "import it into the browser, trust the gateway's CA $GW_DIR/$org/tls/ca.crt, then open https://127.0.0.1:$(gw_port "$org")/"
  echo "$p12"
}
