#!/usr/bin/env bash
# Instructions the service spends on one cached `me`, counted by callgrind: repeatable whatever
# else the machine does, unlike requests/s (see BENCHMARKS.md, issue 16). Seeds 1 000 users ×
# 30 values (examples/bench_me.rs) on PostgreSQL, then runs the release server under
# `valgrind --tool=callgrind` twice, answering 20 warm-up requests and then FEW or MANY more
# `me` requests over 20 tokens; the difference divided by MANY − FEW is one request's cost
# (start-up and first sign-ins cancel out). Prints the per-request total and the largest parts.
#   scripts/bench-me-instructions.sh [BINARY]   (default: the release build, built first)
#   FEW (100)  MANY (300)  PG_BENCH_URL (a server URL)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FEW="${FEW:-100}"
MANY="${MANY:-300}"
command -v valgrind >/dev/null || { echo "bench-me-instructions.sh: valgrind is needed" >&2; exit 1; }
cargo build --release --quiet --bin userprofile --example bench_me
binary="${1:-target/release/userprofile}"
server="${PG_BENCH_URL:-$(scripts/postgres.sh)}"
db="userprofile_bench_instructions_$$"
psql "$server" -qc "create database $db" >/dev/null
url="${server%/*}/$db?sslmode=disable"
work="$(mktemp -d)"
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  psql "$server" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

serve() { # command...
  USERPROFILE_DATABASE_URL="$url" USERPROFILE_DATA_DIR="$work" USERPROFILE_LISTEN=127.0.0.1:8481 \
    RUST_LOG=warn "$@" serve --dev >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do curl -fsS -o /dev/null http://127.0.0.1:8481/healthz 2>/dev/null && return 0; sleep 0.1; done
  echo "bench-me-instructions.sh: the service did not come up" >&2; exit 1
}

serve "$binary"
target/release/examples/bench_me seed --url http://127.0.0.1:8481 --data-dir "$work" --out "$work" >/dev/null
kill "$pid"; wait "$pid" 2>/dev/null || true

query='{"query":"{ me { id username email firstName lastName profile { values { key json } } } }"}'
count() { # requests after the warm-up; prints the callgrind output file
  local out="$work/callgrind.$1.out"
  serve valgrind --tool=callgrind --callgrind-out-file="$out" "$binary"
  local sent=0
  while read -r token; do
    curl -fsS -o /dev/null http://127.0.0.1:8481/graphql -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $token" -d "$query"
    sent=$((sent + 1))
    (( sent < $1 + 20 )) || break
  done < <(for _ in $(seq 1 100); do head -n 20 "$work/tokens.txt"; done)
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  pid=""
  callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null >"$out.txt"
}
count "$FEW"
count "$MANY"

python3 - "$work/callgrind.$FEW.out.txt" "$work/callgrind.$MANY.out.txt" "$((MANY - FEW))" <<'PY'
import re, sys
def load(path):
    costs = {}
    for line in open(path):
        m = re.match(r'\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)(?: \[.*\])?$', line)
        if m:
            name = re.sub(r'^\?\?\?:', '', m.group(2))
            costs[name] = int(m.group(1).replace(',', ''))
    return costs
few, many, n = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
total = (many['PROGRAM TOTALS'] - few['PROGRAM TOTALS']) / n
print(f"instructions per cached me: {total / 1000:.0f}k")
parts = {
    'the request on its connection (no idle loops)': 'hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>::poll_catch',
    'session (token, user and memberships)': 'userprofile::http::session::{{closure}}',
    '  the one SQL statement (sea-orm, sqlx)': '<sea_orm::database::db_connection::DatabaseConnection as sea_orm::database::connection::ConnectionTrait>::query_all_raw::{{closure}}',
    'GraphQL execution': 'userprofile::http::run::{{closure}}',
    '  me': 'userprofile::graphql::me::_::<impl async_graphql::resolver_utils::container::ContainerType for userprofile::graphql::me::UserProfile>::resolve_field::{{closure}}',
    '  validation': 'async_graphql::validation::check_rules',
    'response JSON': "async_graphql_value::value_serde::<impl serde_core::ser::Serialize for async_graphql_value::ConstValue>::serialize'2",
}
for label, name in parts.items():
    if name in many and name in few:
        print(f"{label:42} {(many[name] - few[name]) / n / 1000:8.0f}k")
PY
