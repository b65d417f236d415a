#!/usr/bin/env bash
# Starts moto's S3 server on 127.0.0.1:$MOTO_PORT (default 4566) in the background and prints
# its endpoint. PID and log go to $PEERS_DIR (default /tmp/userprofile-peers).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
MOTO_PORT="${MOTO_PORT:-4566}"
ENDPOINT="http://127.0.0.1:${MOTO_PORT}"
PIDFILE="$PEERS_DIR/moto.pid"
LOG="$PEERS_DIR/moto.log"
mkdir -p "$PEERS_DIR"

answers() { curl -fsS -o /dev/null "$ENDPOINT/moto-api/" 2>/dev/null; }

if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && answers; then
  echo "$ENDPOINT"
  exit 0
fi
"$HERE/install-moto.sh"
# exec keeps the recorded PID the server's own, not a wrapper's.
nohup bash -c "exec '$HERE/.venv/bin/moto_server' -H 127.0.0.1 -p '$MOTO_PORT'" >"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PIDFILE"
for _ in $(seq 1 150); do
  if answers; then
    echo "$ENDPOINT"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start-moto.sh: moto exited during start-up; $LOG says:" >&2
    tail -n 30 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "start-moto.sh: $ENDPOINT did not answer within 30 s" >&2
kill "$pid" 2>/dev/null || true
exit 1
