#!/usr/bin/env bash
# Schemathesis (issue 12) against Org1's gateway, generated from its own /openapi.json, with a
# client certificate: examples, coverage and fuzzing of every operation but the event stream (an
# endless response), bounded in time. Fails on any 5xx and on any answer that breaks the document
# (status, content type, headers, body schema). Prints "schema: N passed, N failed, N skipped".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
live_network schema
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# The version scripts/install-deps installs.
ST_VERSION=$(sed -n 's/^SCHEMATHESIS_VERSION=//p' "$HERE/../scripts/install-deps")

installed() { schemathesis --version 2>/dev/null | grep -q "$ST_VERSION" || { echo "schemathesis $ST_VERSION is not installed: run scripts/install-deps"; return 1; }; }
check "schemathesis $ST_VERSION (PyPI)" installed

t=$(user_tls 1 User1)
LOG_DIR=$(cd "$HERE/.." && pwd)/tests/out/schema
mkdir -p "$LOG_DIR"
st() { # phases log [more schemathesis options]
  local phases=$1 log=$2; shift 2
  timeout 600 schemathesis run "https://127.0.0.1:$(gw_port org1)/openapi.json" \
    --tls-verify "$GW_DIR/org1/tls/ca.crt" --request-cert "$t/client.crt" --request-cert-key "$t/client.key" \
    --exclude-path /v1/events \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases "$phases" --max-examples "${SCHEMA_EXAMPLES:-15}" --workers 2 --max-time "${SCHEMA_SECONDS:-240}" \
    --suppress-health-check all "$@" >"$log" 2>&1
}
# Schemathesis's own crashes ("Runtime Error" in its summary: an exception inside the tool, not an
# answer of ours) are known in its coverage phase and come and go with its random choices. Such a
# run, when it found no failure, is shown and then run once more; any failure of the API fails at
# once. Both logs are kept in tests/out/schema/.
tool_errors_only() { # log
  grep -q '^Errors:' "$1" && ! grep -q '^Failures:' "$1" || return 1
  # Every line of the summary's Errors block names a Runtime Error.
  ! sed -n '/^Errors:/,/^$/p' "$1" | grep -v -e '^Errors:' -e 'Runtime Error' -e '^[[:space:]]*$' | grep -q .
}
run() {
  st examples,coverage,fuzzing "$LOG_DIR/schemathesis.log"
  local rc=$?
  if ((rc != 0)) && tool_errors_only "$LOG_DIR/schemathesis.log"; then
    echo "Schemathesis crashed inside itself (no failure of the API); its errors:"
    sed -n '/= ERRORS =/,/= SUMMARY =/p' "$LOG_DIR/schemathesis.log" | head -40
    echo "running it once more (log: $LOG_DIR/schemathesis-again.log)"
    st examples,coverage,fuzzing "$LOG_DIR/schemathesis-again.log"
    rc=$?
    tail -25 "$LOG_DIR/schemathesis-again.log"
    return $rc
  fi
  tail -25 "$LOG_DIR/schemathesis.log"
  # What failed, last: the check's output keeps only the end.
  ((rc == 0)) || sed -n '/= \(FAILURES\|ERRORS\) =/,/= SUMMARY =/p' "$LOG_DIR/schemathesis.log" | head -60 | tail -19
  return $rc
}
check "no 5xx, every answer as /openapi.json says (≤ ${SCHEMA_SECONDS:-240} s)" run
finish schema
