#!/usr/bin/env bash
# Stops the test OpenID provider started by start-oidc.sh (pid in $PEERS_DIR/oidc.pid).
set -euo pipefail
PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
PIDFILE="$PEERS_DIR/oidc.pid"

[[ -f $PIDFILE ]] || exit 0
pid="$(cat "$PIDFILE")"
rm -f "$PIDFILE"

# only signal the pid if it still is our provider (pids get reused)
if [[ -n $pid ]] && ps -p "$pid" -o args= 2>/dev/null | grep -q 'oidc-provider\.mjs'; then
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || exit 0
    sleep 0.1
  done
  echo "stop-oidc.sh: pid $pid ignored SIGTERM, sending SIGKILL" >&2
  kill -9 "$pid" 2>/dev/null || true
fi
