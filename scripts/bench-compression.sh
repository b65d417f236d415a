#!/usr/bin/env bash
# Benchmark: what response compression costs (release build, SQLite, wrk -t2 -c32). A small
# `me` (under the 1 KiB threshold: never compressed) and a large answer (the schema's types,
# ~20 KiB: compressed when asked), each with and without `Accept-Encoding: gzip, br, zstd`,
# alternating, two rounds. Prints requests/s, p99 and bytes read per request.
#   DURATION (default 8s), PORT (default 8479)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${DURATION:-8s}"
PORT="${PORT:-8479}"
command -v wrk >/dev/null || { echo "bench-compression.sh: install wrk (apt-get install wrk)" >&2; exit 1; }

cargo build --release --quiet --bin userprofile
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export USERPROFILE_DATA_DIR="$work" USERPROFILE_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
export USERPROFILE_DATABASE_URL="sqlite://$work/bench.db?mode=rwc" USERPROFILE_RATE_LIMITS__REQUESTS_PER_MINUTE=0
target/release/userprofile serve --dev >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
user="$(target/release/userprofile dev-token --sub "bench-user" --tenant "bench=member")"

script() { # name, query, accept-encoding (may be empty)
  cat >"$work/$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $user"
$( [[ -n $3 ]] && echo "wrk.headers[\"Accept-Encoding\"] = \"$3\"" )
wrk.body = '{"query":"$2"}'
LUA
}
script small-plain '{ me { id } }' ''
script small-compressed '{ me { id } }' 'gzip, br, zstd'
script large-plain '{ __schema { types { name description fields { name description } } } }' ''
script large-compressed '{ __schema { types { name description fields { name description } } } }' 'gzip, br, zstd'

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
for round in 1 2; do
  for run in small-plain small-compressed large-plain large-compressed; do
    out="$(wrk -t2 -c32 -d"$DURATION" --latency -s "$work/$run.lua" "http://127.0.0.1:$PORT/graphql")"
    rps="$(sed -n 's/^Requests\/sec: *//p' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    requests="$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")"
    read_bytes="$(sed -n 's/.*requests in [^,]*, \(.*\) read/\1/p' <<<"$out")"
    printf 'round %s  %-17s %9s req/s  p99 %8s  %s read in %s requests\n' "$round" "$run" "$rps" "$p99" "$read_bytes" "$requests"
  done
done
