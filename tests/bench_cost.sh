#!/usr/bin/env bash
# The cost benchmark (gateway/benches/cost.rs) under several network settings in one run, each on
# a fresh network (`network.sh clean` + `up` with that setting's environment), so before and
# after are measured on the same machine in the same hour. Prints each setting's table and, last,
# network CPU per committed transaction and throughput against the first setting.
#
#   bash tests/bench_cost.sh                       # baseline quiet batch250
#   bash tests/bench_cost.sh baseline batch250     # any of the settings below, in that order
#   N=500 INFLIGHTS=1,50 bash tests/bench_cost.sh  # the bench's own knobs pass through
#   bash tests/bench_cost.sh at=5b9edef baseline   # an older commit's code against today's
#   bash tests/bench_cost.sh at=5b9edef baseline baseline at=5b9edef   # each twice, against drift
#   # issue 21: be18b0d's collections per org set (7 for 3 orgs; +cols63: the 63 that 6 orgs
#   # would need) against today's implicit per-org collections, raw Fabric writes only
#   ONLY=raw INFLIGHTS=50,200 N=1500 bash tests/bench_cost.sh at=be18b0d at=be18b0d+cols63 baseline
#
# at=COMMIT runs that commit's chaincode, gateway and network scripts (a git worktree under
# tests/out/, built into its own target dir seeded from this one) with today's bench pointed at it
# (SVCFLOW_ROOT); the Fabric binaries are this checkout's. at=COMMIT+cols63 is the same with 63
# collections in its chaincode definition, for a commit whose definition has collections (be18b0d:
# one per org set; see cols63). Labels (CSV names) are the setting
# with - for other characters: at-be18b0d, at-be18b0d-cols63.
#
# Stops and wipes the network it finds (clean), and leaves the last setting's network up (unless
# it is an older commit's).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
NET=fabric-network/network.sh
OUT=${OUT:-$ROOT/docs/bench}
export OUT

# at=COMMIT[+cols63] -> COMMIT, and the checkout of that commit (its worktree)
at_rev() { local r=${1#at=}; echo "${r%%+*}"; }
at_dir() { echo "$ROOT/tests/out/at-$(git rev-parse --short "$(at_rev "$1")")"; }

# +cols63: the older commit's network with as many collections as 6 orgs would need, one per org
# set (63), instead of the 7 of this 3-org consortium, to measure what the definition's size costs
# every private write. Fabric refuses a collection naming an org that is not on the channel, so the
# 56 more are copies of {Org1, Org2}'s collection under other names (col_pad01 …): the same shape
# (member-only, OR of two orgs' members, endorsed by naming a channel policy). Once the network is
# up, each org approves the definition with them and it is committed as the next sequence, as an
# operator's addCollection did.
cols63() { # setting
  local s=$1 st cfg seq o orgs=(org1 org2 org3) eps=()
  st=$(at_state "$s"); cfg=$st/chaincode/collections_63.json
  jq '. + [range(1; 57) as $i | (.[] | select(.name == "col_Org1MSP_Org2MSP")) + {name: ("col_pad" + ($i | tostring))}]' \
    "$st/chaincode/collections_config.json" >"$cfg" || return 1
  [[ $(jq length "$cfg") == 63 ]] || { echo "cols63: $(jq length "$cfg") collections, not 63" >&2; return 1; }
  seq=2
  for o in "${orgs[@]}"; do
    (
      eval "$(net "$s" env "$o" 2>/dev/null)"
      peer lifecycle chaincode approveformyorg -o 127.0.0.1:7050 --tls --cafile "$ORDERER_CA" -C svcflow -n svcflow -v 1.0 \
        --sequence "$seq" --package-id "$(cut -d' ' -f1 "$st/chaincode/$o/running-id")" --collections-config "$cfg" --waitForEvent
    ) >>"$st/logs/cols63.log" 2>&1 || { echo "cols63: approve for $o failed (see $st/logs/cols63.log)" >&2; return 1; }
    eps+=(--peerAddresses "$(net "$s" env "$o" 2>/dev/null | sed -n 's/^export CORE_PEER_ADDRESS=//p')"
      --tlsRootCertFiles "$(net "$s" env "$o" 2>/dev/null | sed -n 's/^export CORE_PEER_TLS_ROOTCERT_FILE=//p')")
  done
  (
    eval "$(net "$s" env org1 2>/dev/null)"
    peer lifecycle chaincode commit -o 127.0.0.1:7050 --tls --cafile "$ORDERER_CA" -C svcflow -n svcflow -v 1.0 \
      --sequence "$seq" --collections-config "$cfg" "${eps[@]}" --waitForEvent
  ) >>"$st/logs/cols63.log" 2>&1 || { echo "cols63: commit failed (see $st/logs/cols63.log)" >&2; return 1; }
  echo "cols63: the definition has $(jq length "$cfg") collections (sequence $seq)"
}
# Where an older commit's network.sh keeps its state (its lib/fabric.sh: SVCFLOW_STATE_DIR, else
# fabric-network/.state of its checkout).
at_state() { echo "${SVCFLOW_STATE_DIR:-$(at_dir "$1")/fabric-network/.state}"; }

# Each setting is the environment network.sh starts the processes with.
setting() { # name -> NAME=VALUE lines
  case $1 in
    baseline) ;;
    # Peers and orderers log warnings only (info writes lines per block and per transaction), the
    # chaincode servers and the gateways too.
    quiet) printf '%s\n' SVCFLOW_PEER_LOGGING=warning SVCFLOW_ORDERER_LOGGING=warning SVCFLOW_CC_LOG=warn SVCFLOW_GW_LOG=warn ;;
    # quiet, and blocks cut after 250 ms: more transactions per block under load.
    batch250) setting quiet; echo SVCFLOW_BATCH_TIMEOUT=250ms ;;
    # Blocks cut after 50 ms (not 100); at most 10 (50) transactions a block; a block cut at 64 KB of
    # transactions (a PutRecord's envelope is ≈ 5 KB) instead of 2 MB.
    batch50) echo SVCFLOW_BATCH_TIMEOUT=50ms ;;
    count10) echo SVCFLOW_BATCH_MAX_COUNT=10 ;;
    count50) echo SVCFLOW_BATCH_MAX_COUNT=50 ;;
    bytes64k) echo "SVCFLOW_BATCH_PREFERRED_BYTES=64 KB" ;;
    # Go's garbage collector in peers and orderers runs when the heap has grown 4x (2x) since the
    # last collection, instead of 2x (Go's default, GOGC=100): less collection work for more memory.
    gogc400) echo SVCFLOW_GOGC=400 ;;
    gogc200) echo SVCFLOW_GOGC=200 ;;
    # Endorsers push their org's copy (implicit collection) to no other peer of their org instead
    # of one (Fabric's default, and the network's); the others pull it when they commit.
    ipush0) echo SVCFLOW_IMPLICIT_MAX_PEERS=0 ;;
    at=*)
      git rev-parse --verify --quiet "$(at_rev "$1")^{commit}" >/dev/null || { echo "$1: no commit $(at_rev "$1")" >&2; return 1; }
      [[ $1 != *+* || $1 == *+cols63 ]] || { echo "$1: the only addition to at=COMMIT is +cols63" >&2; return 1; } ;;
    # Fabric binaries from SVCFLOW_PGO_BIN (e.g. built with Go's profile-guided optimisation).
    pgo) [[ -x ${SVCFLOW_PGO_BIN:-}/peer ]] || { echo "pgo: SVCFLOW_PGO_BIN has no peer" >&2; return 1; }; echo "SVCFLOW_FABRIC_BIN=$SVCFLOW_PGO_BIN" ;;
    # Fabric's own peer settings, read from CORE_* variables (core.yaml's keys) that the peers
    # inherit: goroutines validating a block's transactions (default: one per core), and the
    # background reconciliation of missing private data (on by default, every minute).
    pool1) echo CORE_PEER_VALIDATORPOOLSIZE=1 ;;
    pool4) echo CORE_PEER_VALIDATORPOOLSIZE=4 ;;
    noreconcile) echo CORE_PEER_GOSSIP_PVTDATA_RECONCILIATIONENABLED=false ;;
    *) echo "unknown setting '$1' (at=COMMIT at=COMMIT+cols63 baseline quiet ipush0 batch50 batch250 count10 count50 bytes64k gogc200 gogc400 pgo pool1 pool4 noreconcile)" >&2; return 1 ;;
  esac
}

# clean wipes fabric-network/.state, where a local Ceph keeps its data: not under a running one.
if (exec 3<>/dev/tcp/127.0.0.1/7480) 2>/dev/null; then
  echo "Ceph RGW runs on :7480 and keeps its data in fabric-network/.state, which clean wipes: fabric-network/ceph.sh down first" >&2
  exit 1
fi

settings=("$@")
((${#settings[@]})) || settings=(baseline quiet batch250)
for s in "${settings[@]}"; do setting "$s" >/dev/null || exit 1; done

# An older commit's checkout, built; prints its root. Its network runs from there, one at a time.
worktree() { # commit
  local rev wt target
  rev=$(git rev-parse --short "$1") wt=$ROOT/tests/out/at-$rev target=$CARGO_TARGET_DIR-at-$rev
  [[ -d $wt ]] || git worktree add --detach "$wt" "$rev" >/dev/null 2>&1 || { echo "git worktree add $wt $rev failed" >&2; return 1; }
  # Seeded with this tree's build: only what changed since that commit compiles again.
  [[ -d $target ]] || cp -a "$CARGO_TARGET_DIR" "$target"
  (cd "$wt" && CARGO_TARGET_DIR=$target cargo build --release --bins -p svcflow-chaincode -p svcflow-gateway >&2) || return 1
  echo "$wt"
}
# Runs network.sh of a setting's checkout, with the Fabric binaries this checkout's network uses.
net() { # setting args...
  local s=$1; shift
  if [[ $s == at=* ]]; then
    local rev; rev=$(git rev-parse --short "$(at_rev "$s")")
    (cd "$(at_dir "$s")" && SVCFLOW_FABRIC_BIN=${SVCFLOW_FABRIC_BIN:-$ROOT/fabric-network/.bin} CARGO_TARGET_DIR=$CARGO_TARGET_DIR-at-$rev fabric-network/network.sh "$@")
  else
    "$NET" "$@"
  fi
}

# Each setting's label names its CSV and plots; a setting given again (to repeat it in the same
# run, e.g. A B B A against drift) gets -2, -3 ...
labels=()
declare -A seen=()
for s in "${settings[@]}"; do
  l=${s//[^A-Za-z0-9_-]/-}; seen[$l]=$((${seen[$l]:-0} + 1))
  ((${seen[$l]} > 1)) && l=$l-${seen[$l]}
  labels+=("$l")
done

cargo bench -p svcflow-gateway --bench cost --no-run --locked 2>&1 | tail -1
# A network left up by an earlier run of an older commit holds the ports: down first.
for wt in "$ROOT"/tests/out/at-*/; do
  [[ -x $wt/fabric-network/network.sh ]] || continue
  rev=${wt%/}; net "at=${rev##*/at-}" down >/dev/null 2>&1
done
for s in "${settings[@]}"; do
  if [[ $s == at=* ]]; then worktree "$(at_rev "$s")" >/dev/null || exit 1; fi
done
for i in "${!settings[@]}"; do
  s=${settings[$i]}
  echo "=== ${labels[$i]}: $(setting "$s" | paste -sd' ')"
  for other in "${settings[@]}"; do net "$other" clean >/dev/null 2>&1; done
  mapfile -t vars < <(setting "$s")
  (if ((${#vars[@]})); then export "${vars[@]}"; fi; net "$s" up) 2>&1 | tail -1 || exit 1
  if [[ $s == at=*+cols63 ]]; then cols63 "$s" || exit 1; fi
  root=$ROOT
  if [[ $s == at=* ]]; then root=$(at_dir "$s"); fi
  LABEL=${labels[$i]} SVCFLOW_ROOT=$root cargo bench -p svcflow-gateway --bench cost --locked 2>/dev/null || { echo "the bench failed under $s"; exit 1; }
done

# An older commit's network is not this checkout's to leave up: `network.sh up` here would find
# its ports taken.
last=${settings[${#settings[@]} - 1]}
if [[ $last == at=* ]]; then net "$last" down >/dev/null 2>&1; fi

# Against the first setting: network CPU per committed transaction (peers, orderers, chaincode
# servers) and throughput, per write, path and in flight.
echo
echo "=== each setting against ${settings[0]} (network CPU ms per committed tx; tx/s)"
python3 - "$OUT" "${labels[@]}" <<'EOF'
import csv, sys
out, names = sys.argv[1], sys.argv[2:]
def load(name):
    rows = {}
    with open(f"{out}/cost-{name}.csv") as f:
        for r in csv.DictReader(f):
            net = sum(float(v) for k, v in r.items() if k.endswith("_ms_per_tx") and k.startswith(("peer", "orderer", "chaincode")))
            rows[(r["write"], r["path"], int(r["inflight"]))] = (net, float(r["tps"]), int(r["p50_ms"]))
    return rows
base = load(names[0])
head = "| write | path | in flight | " + " | ".join(f"{n}: CPU ms/tx, tx/s, p50" for n in names) + " | " + " | ".join(f"{n}/{names[0]} CPU" for n in names[1:]) + " |"
print(head)
print("|---" * (head.count("|") - 1) + "|")
all_rows = {n: load(n) for n in names}
for key in sorted(base, key=lambda k: (k[0], k[1], k[2])):
    cells = []
    for n in names:
        v = all_rows[n].get(key)
        cells.append(f"{v[0]:.2f}, {v[1]:.0f}, {v[2]} ms" if v else "–")
    ratios = []
    for n in names[1:]:
        v = all_rows[n].get(key)
        ratios.append(f"{v[0] / base[key][0]:.2f}" if v and base[key][0] else "–")
    print(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
EOF
