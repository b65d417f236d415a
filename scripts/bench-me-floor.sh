#!/usr/bin/env bash
# Side-by-side benchmark of `me` (issue #16), all contenders on one machine in one run:
#   floor        examples/me_floor.rs: axum + one SQL round trip that builds the JSON, no auth
#   postgraphile PostGraphile 4 (npm, pinned in scripts/bench) on the same tables, by id, no auth
#   ours         `me { id username email firstName lastName profile { values { key json } } }`
#                with token verification (1 000 distinct tokens, rotating) and the access rules
# Seeds 1 000 users × 30 filled fields (the 17 built-ins hidden) through the service's API, then
# runs the contenders in turn, ROUNDS times (wrk -t2, CONNECTIONS, DURATION each), prints
# requests/s, p50/p99 and the ratio to the floor of the same round; then ours and the floor,
# each at half of its own peak at a constant rate (open loop), for their p99 (the floor's is
# the machine's own tail, the reference). PostgreSQL first, then SQLite (floor, ours).
#   DURATION (10s), CONNECTIONS (32), ROUNDS (2), PROFILE (release; `dev` for a debug build),
#   QUICK=1: CI's regression guard (3 s, one round, no PostGraphile, no constant-rate runs).
# PostgreSQL: $PG_BENCH_URL (a server URL), else whatever scripts/postgres.sh finds or starts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
mkdir -p "$PEERS_DIR"
PROFILE="${PROFILE:-release}"
QUICK="${QUICK:-0}"
if [[ $QUICK == 1 ]]; then DURATION="${DURATION:-3s}" ROUNDS="${ROUNDS:-1}"; fi
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
ROUNDS="${ROUNDS:-2}"
scripts/bench/install-wrk.sh

cargo build --profile "$PROFILE" --quiet --bin userprofile --example bench_me --example me_floor
bin="${CARGO_TARGET_DIR:-target}/$([[ $PROFILE == dev ]] && echo debug || echo "$PROFILE")"
[[ $QUICK == 1 ]] || scripts/bench/install.sh

server="${PG_BENCH_URL:-$(scripts/postgres.sh)}"
db="userprofile_bench_me_$$"
psql "$server" -qc "create database $db" >/dev/null
pg="${server%/*}/$db"
work="$(mktemp -d)"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  psql "$server" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_for() { # url
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench-me-floor.sh: $1 did not come up" >&2; exit 1
}

ours() { # database-url data-dir port
  mkdir -p "$2"
  USERPROFILE_DATABASE_URL="$1" USERPROFILE_DATA_DIR="$2" USERPROFILE_LISTEN="127.0.0.1:$3" \
    RUST_LOG=warn "$bin/userprofile" serve --dev >"$2/server.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$3/healthz"
}

floor() { # database-url tenant port
  "$bin/examples/me_floor" --database-url "$1" --tenant "$2" --listen "127.0.0.1:$3" >"$work/floor-$3.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$3/me" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench-me-floor.sh: the floor did not come up" >&2; exit 1
}

postgraphile() { # database-url port
  scripts/bench/node_modules/.bin/postgraphile --connection "$1" --schema public --port "$2" \
    --host 127.0.0.1 --disable-query-log >"$work/postgraphile.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$2/graphql" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench-me-floor.sh: PostGraphile did not come up" >&2; exit 1
}

# Checks one answer of each contender before it is measured: the same user, no errors.
check() { # name url mode line
  local answer
  case "$3" in
    bearer) answer="$(curl -fsS "$2" -H 'Content-Type: application/json' -H "Authorization: Bearer $4" \
      -d '{"query":"{ me { id profile { values { key } } } }"}')" ;;
    user-id) answer="$(curl -fsS -X POST "$2" -H "X-User-Id: $4")" ;;
    postgraphile) answer="$(curl -fsS "$2" -H 'Content-Type: application/json' \
      -d "{\"query\":\"query(\$id: UUID!) { userById(id: \$id) { id fieldValuesByUserId { totalCount } } }\",\"variables\":{\"id\":\"$4\"}}")" ;;
  esac
  if [[ $answer == *'"errors"'* || $answer != *'"data"'* ]]; then
    echo "bench-me-floor.sh: $1 answered $answer" >&2; exit 1
  fi
}

# wrk once; prints "requests/s p50-ms p99-ms".
measure() { # url mode lines-file
  local out
  out="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s scripts/bench/rotate.lua "$1" -- "$3" "$2")"
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
    echo "bench-me-floor.sh: errors while measuring $1:" >&2; echo "$out" >&2; exit 1
  fi
  local rps p50 p99
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  echo "$rps $(ms "$p50") $(ms "$p99")"
}

ms() { # a wrk duration (850.00us, 1.20ms, 1.01s) in milliseconds
  awk -v d="$1" 'BEGIN {
    if (d ~ /us$/) { sub(/us$/, "", d); printf "%.2f", d / 1000 }
    else if (d ~ /ms$/) { sub(/ms$/, "", d); printf "%.2f", d }
    else { sub(/s$/, "", d); printf "%.2f", d * 1000 } }'
}

# Runs the named contenders in turn, ROUNDS times. Each argument: name|url|mode|lines-file.
compare() {
  printf '%-6s %-13s %12s %9s %9s %9s\n' round contender requests/s p50-ms p99-ms of-floor
  for round in $(seq 1 "$ROUNDS"); do
    local floor_rps=""
    for contender in "$@"; do
      IFS='|' read -r name url mode lines <<<"$contender"
      local result
      result="$(measure "$url" "$mode" "$lines")"
      read -r rps p50 p99 <<<"$result"
      [[ $name == floor ]] && floor_rps="$rps" && floor_peak="$rps"
      printf '%-6s %-13s %12.0f %9s %9s %9.2f\n' "$round" "$name" "$rps" "$p50" "$p99" \
        "$(awk -v a="$rps" -v b="$floor_rps" 'BEGIN {print a / b}')"
      [[ $name == ours ]] && ours_rps="$rps"
    done
  done
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(free -g | awk '/^Mem:/ {print $2}') GiB; build: $PROFILE; $(date -u +%FT%TZ)"
echo "wrk -t2 -c$CONNECTIONS -d$DURATION, 1 000 users rotating, 30 values per card"

echo "== PostgreSQL $(psql "$server" -Atc 'show server_version')"
ours "$pg" "$work/pg" 8478
"$bin/examples/bench_me" seed --url http://127.0.0.1:8478 --data-dir "$work/pg" --out "$work/pg"
tenant="$(cat "$work/pg/tenant.txt")"
floor "$pg" "$tenant" 8479
contenders=("floor|http://127.0.0.1:8479/me|user-id|$work/pg/ids.txt")
check floor http://127.0.0.1:8479/me user-id "$(head -n 1 "$work/pg/ids.txt")"
if [[ $QUICK != 1 ]]; then
  postgraphile "$pg" 8480
  check postgraphile http://127.0.0.1:8480/graphql postgraphile "$(head -n 1 "$work/pg/ids.txt")"
  contenders+=("postgraphile|http://127.0.0.1:8480/graphql|postgraphile|$work/pg/ids.txt")
fi
check ours http://127.0.0.1:8478/graphql bearer "$(head -n 1 "$work/pg/tokens.txt")"
contenders+=("ours|http://127.0.0.1:8478/graphql|bearer|$work/pg/tokens.txt")
compare "${contenders[@]}"
if [[ $QUICK != 1 ]]; then
  # Each at half of its own peak of the last round: ours, then the floor as the reference for
  # what the machine's scheduling alone does to the tail.
  half="$(awk -v r="$ours_rps" 'BEGIN {printf "%d", r / 2}')"
  printf 'ours:  '
  "$bin/examples/bench_me" rate --url http://127.0.0.1:8478/graphql --tokens "$work/pg/tokens.txt" \
    --rate "$half" --seconds 10 \
    --body '{"query":"{ me { id username email firstName lastName profile { values { key json } } } }"}'
  half="$(awk -v r="$floor_peak" 'BEGIN {printf "%d", r / 2}')"
  printf 'floor: '
  "$bin/examples/bench_me" rate --url http://127.0.0.1:8479/me --tokens "$work/pg/ids.txt" \
    --by user-id --rate "$half" --seconds 10 --body ''
fi
kill "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
pids=()

echo "== SQLite"
sqlite="sqlite://$work/sqlite/bench.db?mode=rwc"
ours "$sqlite" "$work/sqlite" 8478
"$bin/examples/bench_me" seed --url http://127.0.0.1:8478 --data-dir "$work/sqlite" --out "$work/sqlite"
floor "$sqlite" "$(cat "$work/sqlite/tenant.txt")" 8479
check floor http://127.0.0.1:8479/me user-id "$(head -n 1 "$work/sqlite/ids.txt")"
compare "floor|http://127.0.0.1:8479/me|user-id|$work/sqlite/ids.txt" \
  "ours|http://127.0.0.1:8478/graphql|bearer|$work/sqlite/tokens.txt"
