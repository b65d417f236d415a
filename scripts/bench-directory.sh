#!/usr/bin/env bash
# Benchmark: the directory (`profiles`) over a seeded tenant of N members, through HTTP with a
# development admin token: p50/p95/p99 of the first page, a deep page (page 500 by cursors),
# substring, accented and prefix searches, a filter and a search with a filter; on PostgreSQL
# the plans of each kind's statements (EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY
# PLAN on SQLite).
#   scripts/bench-directory.sh [MEMBERS]        (default 100000)
#   DATABASE=sqlite          SQLite instead of PostgreSQL
#   PG_BENCH_URL=...         the PostgreSQL server (default: what scripts/postgres.sh finds)
#   FIELDS (30)  REQUESTS (200)  DEEP_PAGE (500)  PROFILE (release; debug for a quick check)
#   KEEP=1                   reuse the database if it holds the tenant already (no reseeding)
# The service runs in the benchmark's process (examples/bench_directory.rs: the same router and
# configuration defaults as `userprofile serve`), seeded first by `userprofile seed`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MEMBERS="${1:-100000}"
FIELDS="${FIELDS:-30}"
REQUESTS="${REQUESTS:-200}"
DEEP_PAGE="${DEEP_PAGE:-500}"
PROFILE="${PROFILE:-release}"
DATABASE="${DATABASE:-postgres}"
(( FIELDS >= 11 )) || { echo "bench-directory.sh: FIELDS must be at least 11 (the filter uses country_10)" >&2; exit 1; }

flag=()
[[ $PROFILE == release ]] && flag=(--release)
cargo build "${flag[@]}" --quiet --bin userprofile --example bench_directory
target="${CARGO_TARGET_DIR:-target}/$PROFILE"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
explain=(--explain)
if [[ $DATABASE == sqlite ]]; then
  db_file="${SQLITE_BENCH_FILE:-$work/bench.db}"
  url="sqlite://$db_file?mode=rwc"
else
  server="${PG_BENCH_URL:-$(scripts/postgres.sh)}"
  base="${server%/*}"
  name="userprofile_directory_${MEMBERS}"
  if [[ ${KEEP:-0} != 1 ]]; then
    psql "$base/postgres" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
  fi
  url="$base/$name?sslmode=disable"
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; build: $PROFILE; database: $DATABASE"
if [[ ${KEEP:-0} != 1 ]]; then
  echo "== seeding $MEMBERS members with $FIELDS fields"
  USERPROFILE_DATABASE_URL="$url" USERPROFILE_DATA_DIR="$work" RUST_LOG=warn \
    "$target/userprofile" seed --tenant demo --members "$MEMBERS" --fields "$FIELDS"
  if [[ $DATABASE != sqlite ]]; then
    psql "${url%%\?*}" -qc "VACUUM ANALYZE"
  fi
fi
echo "== directory queries"
RUST_LOG=warn "$target/examples/bench_directory" --database-url "$url" --tenant demo \
  --requests "$REQUESTS" --deep-page "$DEEP_PAGE" "${explain[@]}"
