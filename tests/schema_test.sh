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
ST_VERSION=4.32.5

installed() { schemathesis --version 2>/dev/null | grep -q "$ST_VERSION"; }
install() { installed || python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION" 2>&1 | tail -3; installed; }
check "schemathesis $ST_VERSION (PyPI)" install

t=$(user_tls 1 User1)
run() {
  timeout 600 schemathesis run "https://127.0.0.1:$(gw_port org1)/openapi.json" \
    --tls-verify "$GW_DIR/org1/tls/ca.crt" --request-cert "$t/client.crt" --request-cert-key "$t/client.key" \
    --exclude-path /v1/events \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing --max-examples "${SCHEMA_EXAMPLES:-15}" --workers 2 --max-time "${SCHEMA_SECONDS:-240}" \
    --suppress-health-check all >"$TMP/st.log" 2>&1
  local rc=$?
  tail -40 "$TMP/st.log"
  return $rc
}
check "no 5xx, every answer as /openapi.json says (≤ ${SCHEMA_SECONDS:-240} s)" run
finish schema
