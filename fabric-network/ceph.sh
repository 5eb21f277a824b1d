#!/usr/bin/env bash
# A single-host Ceph cluster with an S3 gateway (RGW) on 127.0.0.1, as plain daemons: one mon, one
# bluestore OSD backed by a file, one radosgw. Objects survive `down`/`up`; only `clean` wipes them.
# Recipe and knobs: docs/ceph.md. `ceph.sh -h` for the verbs.
set -Eeuo pipefail

SELF=ceph.sh # in error lines
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib
# shellcheck source=lib/common.sh
source "$LIB/common.sh"
# shellcheck source=lib/topology.sh
source "$LIB/topology.sh"
STATE=${SVCFLOW_CEPH_STATE:-${SVCFLOW_STATE_DIR:-$NET_DIR/.state}/ceph}
CONF=$STATE/ceph.conf
LOGS=$STATE/log
RUN=$STATE/run
RGW_PORT=$(rgw_port)
BUCKET=${SVCFLOW_S3_BUCKET:-svcflow}
OSD_SIZE=${SVCFLOW_CEPH_OSD_SIZE:-20G}     # sparse file: takes disk only as objects are written
OSD_MEMORY=${SVCFLOW_CEPH_OSD_MEMORY:-1073741824}
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common curl)

# lib/common.sh's spawn, pid_alive and stop_all with this script's own PID files,
# RUN/NAME.svcflow.pid (the daemons write RUN/NAME.pid themselves); a daemon gets 15 s after TERM
# and must be gone 5 s after KILL.
PIDS=$RUN PID_SUFFIX=.svcflow.pid STOP_GRACE=15 STOP_CHECK=1
# Anything that fails outside `step`/`die` still ends with one line naming where.
trap 'die "line $LINENO: $BASH_COMMAND" "$LOGS"' ERR
ceph_() { timeout 20 ceph -c "$CONF" "$@"; }
wait_for() { # what seconds log daemon cmd...  (fails at once if the daemon has exited)
  local what=$1 secs=$2 log=$3 daemon=$4 until; shift 4
  until=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    pid_alive "$daemon" || die "$what (the daemon exited)" "$log"
    ((SECONDS < until)) || die "$what (not ready after $secs s)" "$log"
    sleep 1
  done
}

install_packages() {
  local p missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]} (apt-get)"
  mkdir -p "$STATE"
  # A fresh machine may have no package lists yet.
  if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
    step "apt-get update" "$STATE/install.log" env DEBIAN_FRONTEND=noninteractive apt-get update
  fi
  step "install ${missing[*]} (apt-get)" "$STATE/install.log" \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

write_conf() {
  local fsid=$1
  # $cluster, $name and $id below are Ceph's own metavariables, expanded by each daemon.
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon initial members = a
mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# Keep the messenger off the Fabric ports (7050-9062): OSD and RGW bind inside this range.
ms bind port min = 6800
ms bind port max = 6899
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
# Every client here is current: no legacy global_id reclaim (and no health warning about it).
auth allow insecure global id reclaim = false
# Warn when the state disk has under 10 % free (default 30 %, noisy on a shared dev disk); the
# mon still stops itself at 5 %.
mon data avail warn = 10
keyring = $STATE/keyring/\$name.keyring
run dir = $RUN
admin socket = $RUN/\$name.asok
pid file = $RUN/\$name.pid
log file = $LOGS/\$name.log
mon cluster log file = $LOGS/cluster.log
# One host, one OSD: one copy of each object, placement across OSDs (type 0), few PGs.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000

[mon]
mon data = $STATE/mon/\$cluster-\$id

[osd]
osd data = $STATE/osd/\$cluster-\$id
osd objectstore = bluestore
bluestore block path = $STATE/osd/\$cluster-\$id/block.file
bluestore block create = true
bluestore block size = $(numfmt --from=iec "$OSD_SIZE")
osd memory target = $OSD_MEMORY

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $STATE/rgw
rgw dns name = 127.0.0.1
EOF
}

bootstrap() {
  local log=$LOGS/bootstrap.log fsid
  say "bootstrapping a new Ceph cluster in $STATE"
  # Daemons left by a bootstrap that failed half-way would hold the ports: stop them first.
  stop_all rgw osd mon
  rm -rf "$STATE"; mkdir -p "$STATE/keyring" "$LOGS" "$RUN" "$STATE/mon" "$STATE/osd" "$STATE/rgw"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  local kr=$STATE/keyring
  step "bootstrap: mon keyring" "$log" ceph-authtool --create-keyring "$kr/mon.keyring" --gen-key -n mon. --cap mon 'allow *'
  step "bootstrap: admin keyring" "$log" ceph-authtool --create-keyring "$kr/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *'
  step "bootstrap: admin key into mon keyring" "$log" ceph-authtool "$kr/mon.keyring" --import-keyring "$kr/client.admin.keyring"
  step "bootstrap: monmap" "$log" monmaptool --create --fsid "$fsid" --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$STATE/monmap"
  step "bootstrap: mon mkfs" "$log" ceph-mon -c "$CONF" --mkfs -i a --monmap "$STATE/monmap" --keyring "$kr/mon.keyring"
  start_mon
  local uuid id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph_ osd new "$uuid" 2>>"$log") || die "bootstrap: ceph osd new" "$log"
  [[ $id == 0 ]] || die "bootstrap: expected osd.0, got osd.$id" "$log"
  mkdir -p "$STATE/osd/ceph-0"
  step "bootstrap: osd keyring" "$log" ceph-authtool --create-keyring "$kr/osd.0.keyring" --gen-key -n osd.0
  step "bootstrap: osd auth" "$log" ceph_ auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' -i "$kr/osd.0.keyring"
  step "bootstrap: osd mkfs (bluestore on a file)" "$log" ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid"
  start_osd
  step "bootstrap: rgw keyring" "$log" ceph_ auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$kr/client.rgw.a.keyring"
  start_rgw
  local access secret
  access=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
  secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
  step "bootstrap: S3 user (radosgw-admin user create)" "$log" timeout 60 radosgw-admin -c "$CONF" -n client.admin \
    user create --uid=svcflow --display-name="svcflow gateways" --access-key="$access" --secret-key="$secret"
  umask 077
  printf 'SVCFLOW_S3_ENDPOINT=http://127.0.0.1:%s\nSVCFLOW_S3_BUCKET=%s\nSVCFLOW_S3_ACCESS_KEY=%s\nSVCFLOW_S3_SECRET_KEY=%s\nSVCFLOW_S3_REGION=default\n' \
    "$RGW_PORT" "$BUCKET" "$access" "$secret" >"$STATE/s3.env"
  create_bucket
  touch "$STATE/bootstrapped"
}

# One RGW user per org of the topology, its uid the org's MSP id (the gateways name each other's
# users by it in bucket policies): the access key in $STATE/s3/ORG.access, the secret in
# $STATE/s3/ORG.secret, both 0600. Each org's gateway gets only its own pair, so no org can read,
# list or delete another org's buckets. Run on every `up`: an org added to the topology gets its
# user then.
ensure_org_users() {
  local org msp access secret log=$LOGS/users.log
  mkdir -p "$STATE/s3"
  for org in "${ORGS[@]}"; do
    [[ -s $STATE/s3/$org.secret && -s $STATE/s3/$org.access ]] && continue
    msp=$(org_msp "$org")
    access=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
    secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
    if timeout 60 radosgw-admin -c "$CONF" -n client.admin user info --uid="$msp" >/dev/null 2>&1; then
      # The user is there but its files are not (a half-done earlier run): give it a new key.
      step "S3 key for $msp (radosgw-admin key create)" "$log" timeout 60 radosgw-admin -c "$CONF" -n client.admin \
        key create --uid="$msp" --key-type=s3 --access-key="$access" --secret-key="$secret"
    else
      step "S3 user $msp (radosgw-admin user create)" "$log" timeout 60 radosgw-admin -c "$CONF" -n client.admin \
        user create --uid="$msp" --display-name="svcflow gateway of $msp" --access-key="$access" --secret-key="$secret"
    fi
    (umask 077 && printf '%s\n' "$access" >"$STATE/s3/$org.access" && printf '%s\n' "$secret" >"$STATE/s3/$org.secret")
  done
  step "bucket policy of $BUCKET: every org's user reads its older objects" "$log" set_legacy_policy
}

# Objects anchored before the per-org buckets live in $BUCKET (owned by the svcflow user); their
# anchors name them there, so every org's gateway may read them (only read: no list, no write).
set_legacy_policy() {
  load_env "$STATE/s3.env"
  local org principals="" policy hash
  for org in "${ORGS[@]}"; do principals+="${principals:+,}\"arn:aws:iam:::user/$(org_msp "$org")\""; done
  policy="{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"older-objects\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[$principals]},\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::$BUCKET/*\"]}]}"
  hash=$(printf '%s' "$policy" | sha256sum | cut -d' ' -f1)
  curl -fsS --max-time 30 -X PUT --aws-sigv4 "aws:amz:default:s3" -H "x-amz-content-sha256: $hash" \
    --user "$SVCFLOW_S3_ACCESS_KEY:$SVCFLOW_S3_SECRET_KEY" --data-binary "$policy" "http://127.0.0.1:$RGW_PORT/$BUCKET?policy="
}

s3_curl() { # method path [curl args...]
  local method=$1 path=$2; shift 2
  load_env "$STATE/s3.env"
  # RGW wants the payload hash header that curl's SigV4 leaves out; these requests have no body.
  curl -fsS --max-time 30 -X "$method" --aws-sigv4 "aws:amz:default:s3" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    --user "$SVCFLOW_S3_ACCESS_KEY:$SVCFLOW_S3_SECRET_KEY" "http://127.0.0.1:$RGW_PORT/$path" "$@"
}

create_bucket() {
  s3_curl HEAD "$BUCKET" -o /dev/null 2>/dev/null || step "create bucket $BUCKET" "$LOGS/bootstrap.log" s3_curl PUT "$BUCKET"
  step "bucket lifecycle: abort incomplete multipart uploads after a day" "$LOGS/bootstrap.log" set_lifecycle
}

# A writer killed mid-upload leaves the parts of its multipart upload behind, listed by no object;
# the gateways' sweep aborts those of the objects it settles, and this rule whatever else is left.
LIFECYCLE='<LifecycleConfiguration><Rule><ID>abort-incomplete-multipart</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>'
set_lifecycle() {
  load_env "$STATE/s3.env"
  local hash md5
  hash=$(printf '%s' "$LIFECYCLE" | sha256sum | cut -d' ' -f1)
  md5=$(printf '%s' "$LIFECYCLE" | openssl dgst -md5 -binary | base64)
  curl -fsS --max-time 30 -X PUT --aws-sigv4 "aws:amz:default:s3" -H "x-amz-content-sha256: $hash" -H "Content-MD5: $md5" \
    --user "$SVCFLOW_S3_ACCESS_KEY:$SVCFLOW_S3_SECRET_KEY" --data-binary "$LIFECYCLE" "http://127.0.0.1:$RGW_PORT/$BUCKET?lifecycle="
}

start_mon() {
  pid_alive mon || spawn mon "$LOGS/mon.a.stdout.log" ceph-mon -c "$CONF" -f -i a
  wait_for "start mon" 60 "$LOGS/mon.a.log" mon ceph_ mon stat
}
osd_up() { ceph_ osd dump 2>/dev/null | grep -q '^osd.0 up'; }
start_osd() {
  pid_alive osd || spawn osd "$LOGS/osd.0.stdout.log" ceph-osd -c "$CONF" -f -i 0
  wait_for "start osd.0" 120 "$LOGS/osd.0.log" osd osd_up
}
rgw_ready() { curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$RGW_PORT/"; }
start_rgw() {
  pid_alive rgw || spawn rgw "$LOGS/rgw.stdout.log" radosgw -c "$CONF" -f -n client.rgw.a
  wait_for "start radosgw on 127.0.0.1:$RGW_PORT" 120 "$LOGS/client.rgw.a.log" rgw rgw_ready
}


cmd_up() {
  install_packages
  if [[ -f $STATE/bootstrapped ]]; then
    start_mon; start_osd; start_rgw; create_bucket
  else
    bootstrap
  fi
  ensure_org_users
  say "Ceph RGW is up: http://127.0.0.1:$RGW_PORT bucket $BUCKET (credentials: ceph.sh env)"
}

cmd_down() {
  [[ -d $RUN ]] || return 0
  stop_all rgw; stop_all osd; stop_all mon
  say "Ceph is down (objects kept in $STATE)"
}

cmd_status() {
  local n rc=0
  for n in mon osd rgw; do
    if pid_alive "$n"; then printf '%-12s %-6s %s\n' "ceph-$n" up "$(cat "$RUN/$n.svcflow.pid")"; else printf '%-12s %-6s -\n' "ceph-$n" down; rc=1; fi
  done
  if pid_alive mon; then ceph_ -s 2>/dev/null | sed -n 's/^ *\(health\|osd\|objects\|usage\):/  \1:/p' | sed 's/^/  /'; fi
  return $rc
}

cmd_env() {
  [[ -f $STATE/s3.env ]] || die "env (no credentials yet: run 'ceph.sh up')"
  sed 's/^/export /' "$STATE/s3.env"
}

usage() {
  cat <<EOF
Usage: fabric-network/ceph.sh <verb>
  up          install Ceph packages if missing, bootstrap once, start mon, osd and radosgw (127.0.0.1:$RGW_PORT)
  down        stop the daemons (objects are kept)
  clean       down, then wipe the cluster and its objects
  status      daemons up/down and cluster health
  env         print export lines for the S3 endpoint, the older objects' bucket and its owner's credentials:
              eval "\$(fabric-network/ceph.sh env)"   (each org's own pair: \$STATE/s3/ORG.access and ORG.secret)
  stop-rgw    stop only radosgw (failure tests)
  start-rgw   start radosgw again
State: $STATE
EOF
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  clean) cmd_down; rm -rf "$STATE"; say "Ceph state removed" ;;
  status) cmd_status || exit $? ;;
  env) cmd_env ;;
  stop-rgw) stop_all rgw ;;
  start-rgw) start_rgw ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 1 ;;
esac
