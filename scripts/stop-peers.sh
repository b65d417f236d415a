#!/usr/bin/env bash
# Stops what scripts/test.sh started: the OpenID provider, the S3 server and a throwaway
# PostgreSQL cluster.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
PEERS_DIR="$PEERS_DIR" "$HERE/peers/stop-oidc.sh" >/dev/null 2>&1
PEERS_DIR="$PEERS_DIR" "$HERE/peers/stop-moto.sh" >/dev/null 2>&1
if [[ -f $PEERS_DIR/pgdata/postmaster.pid ]]; then
  bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$bindir/pg_ctl" -D "$PEERS_DIR/pgdata" -m fast stop >/dev/null
  else
    "$bindir/pg_ctl" -D "$PEERS_DIR/pgdata" -m fast stop >/dev/null
  fi
fi
