#!/usr/bin/env bash
# Benchmark of live updates across two instances (release build): two `userprofile serve --dev`
# processes on one PostgreSQL database and one data folder; subscribers on B, edits through A.
# Prints change-to-delivery latency for 1, 100 and 1 000 subscribers and B's memory with
# 10 000 idle subscriptions (see BENCHMARKS.md).
#   scripts/bench-live.sh [extra example args, e.g. --subscribers 1,10 --idle 1000]
# PostgreSQL: $PG_BENCH_URL (a server URL; a database `userprofile_bench_live` is created on
# it), else whatever scripts/postgres.sh finds or starts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
mkdir -p "$PEERS_DIR"
ulimit -n "$(ulimit -Hn)"  # 10 000 idle WebSockets need as many descriptors per side

server="${PG_BENCH_URL:-$(scripts/postgres.sh)}"
db=userprofile_bench_live
psql "$server" -qc "drop database if exists $db" -c "create database $db" >/dev/null
work="$(mktemp -d)"
cleanup() {
  kill "${a:-}" "${b:-}" 2>/dev/null || true
  rm -rf "$work"
  psql "$server" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

cargo build --release --quiet --bin userprofile --example bench_live
bin="${CARGO_TARGET_DIR:-target}/release"
export USERPROFILE_DATABASE_URL="${server%/*}/$db" USERPROFILE_DATA_DIR="$work" RUST_LOG=warn
export USERPROFILE_LIVE__SUBSCRIPTIONS_PER_USER=1000
USERPROFILE_LISTEN=127.0.0.1:8481 "$bin/userprofile" serve --dev >"$work/a.log" 2>&1 &
a=$!
for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:8481/healthz >/dev/null 2>&1 && break; sleep 0.1; done
USERPROFILE_LISTEN=127.0.0.1:8482 "$bin/userprofile" serve --dev >"$work/b.log" 2>&1 &
b=$!
for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:8482/healthz >/dev/null 2>&1 && break; sleep 0.1; done

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "PostgreSQL: $(psql "$server" -Atc 'show server_version')"
"$bin/examples/bench_live" --a http://127.0.0.1:8481 --b http://127.0.0.1:8482 --b-pid "$b" \
  --data-dir "$work" "$@"
