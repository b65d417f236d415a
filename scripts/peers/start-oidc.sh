#!/usr/bin/env bash
# Starts the test OpenID provider in the background and prints its issuer URL on stdout.
#   OIDC_PORT  port on 127.0.0.1 (default 4011); the issuer is http://127.0.0.1:$OIDC_PORT
#   PEERS_DIR  where oidc.pid and oidc.log go (default /tmp/userprofile-peers)
# If the provider recorded in $PEERS_DIR/oidc.pid already answers, it is reused.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
OIDC_PORT="${OIDC_PORT:-4011}"
ISSUER="http://127.0.0.1:${OIDC_PORT}"
PIDFILE="$PEERS_DIR/oidc.pid"
LOG="$PEERS_DIR/oidc.log"
TIMEOUT=30

mkdir -p "$PEERS_DIR"

probe() {
  node -e '
    fetch(process.argv[1] + "/.well-known/openid-configuration")
      .then(async (r) => { const c = await r.json(); process.exit(r.ok && c.issuer === process.argv[1] ? 0 : 1); })
      .catch(() => process.exit(1));' "$ISSUER"
}

is_ours() { # pid -> running oidc-provider.mjs?
  [[ -n ${1:-} ]] && ps -p "$1" -o args= 2>/dev/null | grep -q 'oidc-provider\.mjs'
}

if [[ -f $PIDFILE ]]; then
  old_pid="$(cat "$PIDFILE")"
  if is_ours "$old_pid" && probe; then
    echo "$ISSUER"
    exit 0
  fi
  echo "start-oidc.sh: stale $PIDFILE (pid $old_pid), stopping it" >&2
  PEERS_DIR="$PEERS_DIR" "$HERE/stop-oidc.sh" >&2 || true
fi

"$HERE/install.sh"

OIDC_PORT="$OIDC_PORT" nohup node "$HERE/oidc-provider.mjs" >"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PIDFILE"

deadline=$((SECONDS + TIMEOUT))
until grep -qx 'ready' "$LOG" 2>/dev/null && probe; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start-oidc.sh: the OpenID provider (pid $pid) exited during start-up; $LOG says:" >&2
    tail -n 30 "$LOG" >&2 || true
    rm -f "$PIDFILE"
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "start-oidc.sh: $ISSUER/.well-known/openid-configuration did not answer within ${TIMEOUT}s; $LOG says:" >&2
    tail -n 30 "$LOG" >&2 || true
    kill "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    exit 1
  fi
  sleep 0.2
done

echo "$ISSUER"
