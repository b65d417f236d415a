#!/usr/bin/env bash
# Starts and stops the test OpenID provider many times and fails if any start hangs or fails:
# a start-up deadlock that strikes one start in a hundred (as Node 20's in generateKeyPairSync
# did one in ten) would otherwise fail a CI run now and then.
#   start-oidc-loop.sh [COUNT]  COUNT starts in all (default 200)
#   OIDC_LOOP_PARALLEL          how many providers start at once, on distinct ports (default 4)
#   OIDC_LOOP_PORT              the first of those ports (default 4111)
#   OIDC_START_TIMEOUT          passed to start-oidc.sh (its default: 15 s)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COUNT="${1:-200}"
PARALLEL="${OIDC_LOOP_PARALLEL:-4}"
FIRST_PORT="${OIDC_LOOP_PORT:-4111}"
ROOT="$(mktemp -d "${TMPDIR:-/tmp}/oidc-loop.XXXXXX")"

stop_all() {
  for dir in "$ROOT"/worker-*; do
    [[ -d $dir ]] && PEERS_DIR="$dir" "$HERE/stop-oidc.sh" || true
  done
}
trap stop_all EXIT

"$HERE/install.sh"

# Worker $1 starts and stops its provider $2 times on its own port; each failure leaves a file.
worker() {
  local w=$1 starts=$2 port=$((FIRST_PORT + $1)) dir="$ROOT/worker-$1" i
  for ((i = 1; i <= starts; i++)); do
    if ! PEERS_DIR="$dir" OIDC_PORT="$port" "$HERE/start-oidc.sh" >/dev/null 2>"$dir.err"; then
      mv "$dir.err" "$ROOT/failure-$w-$i"
      [[ -f $dir/oidc.log ]] && cp "$dir/oidc.log" "$ROOT/failure-$w-$i.log"
    fi
    PEERS_DIR="$dir" "$HERE/stop-oidc.sh"
  done
  rm -f "$dir.err"
}

started=$SECONDS
for ((w = 0; w < PARALLEL; w++)); do
  worker "$w" $(((COUNT + PARALLEL - 1 - w) / PARALLEL)) &
done
wait

failures=("$ROOT"/failure-*[0-9])
if [[ -e ${failures[0]} ]]; then
  for f in "${failures[@]}"; do
    n="${f##*/failure-}"
    echo "start-oidc-loop.sh: worker ${n%-*}'s start ${n#*-} failed:" >&2
    cat "$f" >&2
  done
  echo "start-oidc-loop.sh: ${#failures[@]} of $COUNT starts failed in $((SECONDS - started)) s; logs in $ROOT" >&2
  exit 1
fi
echo "start-oidc-loop.sh: $COUNT starts, none failed, in $((SECONDS - started)) s" >&2
rm -rf "$ROOT"
