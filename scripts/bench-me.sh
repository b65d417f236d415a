#!/usr/bin/env bash
# Benchmark: `me` with the caller's card (identity, tenants, 17 built-in + 25 template fields,
# labels resolved) over HTTP, with wrk. Release build, development token (HMAC; a verified
# token is cached, like an OIDC one), SQLite by default or PostgreSQL with BENCH_DATABASE_URL.
#   DURATION (default 15s), CONNECTIONS (default 32), PORT (default 8478)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-8478}"
command -v wrk >/dev/null || { echo "bench-me.sh: install wrk (apt-get install wrk)" >&2; exit 1; }

cargo build --release --quiet
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export USERPROFILE_DATA_DIR="$work" USERPROFILE_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
export USERPROFILE_DATABASE_URL="${BENCH_DATABASE_URL:-sqlite://$work/bench.db?mode=rwc}"
target/release/userprofile serve --dev >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

admin="$(target/release/userprofile dev-token --sub "bench-admin-$$" --tenant "bench-$$=admin")"
user="$(target/release/userprofile dev-token --sub "bench-user-$$" --tenant "bench-$$=member" --given-name Ada --family-name Lovelace --email ada@example.com)"
gql() { curl -fsS "http://127.0.0.1:$PORT/graphql" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$2" >/dev/null; }
gql "$admin" '{"query":"mutation { addFieldsFromTemplates(templateKeys: [\"job_title\",\"department\",\"company\",\"office_location\",\"city\",\"country\",\"bio\",\"phone\",\"mobile_phone\",\"linkedin\",\"x_twitter\",\"github\",\"telegram\",\"whatsapp\",\"tshirt_size\",\"pronouns\",\"start_date\",\"skills\",\"languages_spoken\",\"years_of_experience\",\"timezone\",\"email_notifications\",\"sms_notifications\",\"newsletter\",\"team_size\"]) { added { key } } }"}'
gql "$user" '{"query":"mutation { updateMyProfile(input: {values: [{key: \"job_title\", value: \"Engineer\"}, {key: \"city\", value: \"London\"}, {key: \"country\", value: \"GB\"}, {key: \"bio\", value: \"Analytical engine\"}, {key: \"skills\", value: [\"design\", \"leadership\"]}, {key: \"years_of_experience\", value: 12}, {key: \"email_notifications\", value: true}]}) { version } }"}'

cat >"$work/me.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $user"
wrk.headers["Accept-Language"] = "de-CH, en;q=0.8"
wrk.body = '{"query":"{ me { id username email firstName lastName primaryTenantId primaryTenantName tenants { id name role } profile { version locale values { key label { text direction } json editable } } } }"}'
LUA
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); database: ${BENCH_DATABASE_URL:-SQLite}"
echo "== me with a 42-field card, $CONNECTIONS connections, $DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/me.lua" "http://127.0.0.1:$PORT/graphql" | grep -E 'Requests/sec|Latency|99%|Non-2xx'
