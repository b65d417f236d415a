#!/usr/bin/env bash
# Benchmark of the operator bulk create: 100 000 app profiles (25 000 users x 4 apps) in one
# createAppProfiles request, on PostgreSQL and on SQLite, with the release build; then, as a
# labelled experiment, PostgreSQL once more with app_profiles' per-row foreign keys put back in
# place of the shipped set-wise reference checks, to show what they cost. Each run gets a fresh database; figures go to stdout
# (see BENCHMARKS.md).
#   scripts/bench-app-profiles.sh [extra example args, e.g. --profiles 10000 --runs 1]
# PostgreSQL: $PG_BENCH_URL (a server URL; a database `userprofile_bench` is created on it), else
# whatever scripts/postgres.sh finds or starts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
mkdir -p "$PEERS_DIR"

server="${PG_BENCH_URL:-$(scripts/postgres.sh)}"
base="${server%/*}"
db=userprofile_bench
psql "$server" -qc "drop database if exists $db" -c "create database $db" >/dev/null
sqlite_dir="$(mktemp -d)"
trap 'rm -rf "$sqlite_dir"; psql "$server" -qc "drop database if exists $db" >/dev/null 2>&1 || true' EXIT

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "PostgreSQL: $(psql "$server" -Atc 'show server_version')"
cargo build --release --example bench_app_profiles
bin="${CARGO_TARGET_DIR:-target}/release/examples/bench_app_profiles"
"$bin" --database-url "$base/$db" "$@"
echo
"$bin" --database-url "sqlite://$sqlite_dir/bench.db?mode=rwc" "$@"
echo
psql "$server" -qc "drop database $db" -c "create database $db" >/dev/null
"$bin" --database-url "$base/$db" --with-foreign-keys "$@"
