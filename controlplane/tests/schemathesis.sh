#!/usr/bin/env bash
# Fuzzes the control-plane API with schemathesis (`pip install schemathesis`): no 5xx allowed.
#
#   controlplane/tests/schemathesis.sh [ST_ARGS...]     # from the repository root
#
# Starts `linkflow serve` on free loopback ports in a temporary data dir (rate limits off),
# sets up the owner, an API key, and the objects whose ids the path parameters need — a
# workflow (activated, its webhook called once so an execution exists), a second workflow
# for DELETE, two credentials (one for DELETE) and a spare API key for DELETE — then runs
# `st run` with schemathesis.toml, which hands those ids to the operations that take them
# (without them 14 operations only ever see 404). LINKFLOW_BIN picks the binary (default
# target/debug/linkflow). The run's generated state is written to a temporary directory.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${LINKFLOW_BIN:-$root/target/debug/linkflow}"
[ -x "$bin" ] || { echo "no linkflow binary at $bin (cargo build, or set LINKFLOW_BIN)" >&2; exit 2; }
command -v st >/dev/null || { echo "schemathesis is not installed (pip install schemathesis)" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }

work="$(mktemp -d /tmp/lf-schemathesis.XXXXXX)"
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --data-dir "$work/data" --api 127.0.0.1:0 --webhook 127.0.0.1:0 --quic 127.0.0.1:0 \
  --rate-limit-anonymous unlimited --rate-limit-authenticated unlimited >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 300); do
  grep -q "linkflow: API on http://" "$work/serve.log" && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
line="$(grep -m1 "linkflow: API on http://" "$work/serve.log")" || { echo "serve did not start" >&2; exit 1; }
api="$(sed -E 's|.*API on (http://[^/]+)/api/v1.*|\1|' <<<"$line")"
webhook="$(sed -E 's|.*webhooks on (http://[^/]+)/webhook/.*|\1|' <<<"$line")"

post() { # PATH BODY [AUTH_HEADER]
  curl -sf -X POST "$api$1" -H 'content-type: application/json' ${3:+-H "$3"} -d "$2"
}
post /api/v1/auth/setup '{"email":"o@example.com","password":"owner-password"}' >/dev/null
token="$(post /api/v1/auth/login '{"email":"o@example.com","password":"owner-password"}' | jq -r .accessToken)"
auth="Authorization: Bearer $token"
export LF_ST_KEY="$(post /api/v1/api-keys '{"name":"st"}' "$auth" | jq -r .key)"
export LF_ST_KEY_DELETE="$(post /api/v1/api-keys '{"name":"st-delete"}' "$auth" | jq -r .id)"
reference="$(cat "$root/../shared/reference/workflows/webhook-bench.json")"
export LF_ST_WORKFLOW="$(post /api/v1/workflows "$reference" "$auth" | jq -r .id)"
export LF_ST_WORKFLOW_DELETE="$(post /api/v1/workflows \
  '{"name":"to delete","nodes":[{"name":"Start","type":"n8n-nodes-base.manualTrigger","typeVersion":1,"parameters":{}}],"connections":{}}' \
  "$auth" | jq -r .id)"
credential='{"name":"key","type":"httpHeaderAuth","data":{"name":"X-Token","value":"secret"}}'
export LF_ST_CREDENTIAL="$(post /api/v1/credentials "$credential" "$auth" | jq -r .id)"
export LF_ST_CREDENTIAL_DELETE="$(post /api/v1/credentials "$credential" "$auth" | jq -r .id)"
post "/api/v1/workflows/$LF_ST_WORKFLOW/activate" '{}' "$auth" >/dev/null
curl -sf -X POST "$webhook/webhook/bench" -H 'content-type: application/json' \
  -d '{"a":41,"name":"bench"}' >/dev/null
export LF_ST_EXECUTION=""
for _ in $(seq 1 50); do
  LF_ST_EXECUTION="$(curl -sf "$api/api/v1/executions?workflowId=$LF_ST_WORKFLOW" -H "$auth" \
    | jq -r '.data[0].id // empty')"
  [ -n "$LF_ST_EXECUTION" ] && break
  sleep 0.1
done
[ -n "$LF_ST_EXECUTION" ] || { echo "the webhook call left no execution" >&2; exit 1; }
for name in LF_ST_KEY_DELETE LF_ST_WORKFLOW LF_ST_WORKFLOW_DELETE LF_ST_CREDENTIAL LF_ST_CREDENTIAL_DELETE; do
  [ -n "${!name}" ] && [ "${!name}" != null ] || { echo "setting up $name failed" >&2; exit 1; }
done

cd "$work"
st --config-file "$here/schemathesis.toml" run "$api/api/v1/openapi.json" \
  -H "X-API-Key: $LF_ST_KEY" --checks not_a_server_error -n 15 "$@"
