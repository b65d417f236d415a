#!/usr/bin/env bash
# Stops the moto server started by start-moto.sh.
set -uo pipefail
PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
PIDFILE="$PEERS_DIR/moto.pid"
[[ -f $PIDFILE ]] || exit 0
pid="$(cat "$PIDFILE")"
if ps -p "$pid" -o args= 2>/dev/null | grep -q moto_server; then
  kill "$pid" 2>/dev/null
fi
rm -f "$PIDFILE"
