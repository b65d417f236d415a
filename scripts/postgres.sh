#!/usr/bin/env bash
# Prints a PostgreSQL server URL for the tests, on stdout.
#   - $PG_TEST_URL if set (it must answer, or this fails loudly);
#   - else the local server on 127.0.0.1:5432 (user postgres, trust auth) if it answers;
#   - else a throwaway cluster started with the installed PostgreSQL binaries on port
#     $PG_THROWAWAY_PORT (default 55432) in $PEERS_DIR/pgdata, stopped by scripts/stop-peers.sh.
set -euo pipefail
PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
PORT="${PG_THROWAWAY_PORT:-55432}"

answers() { # url -> does it accept queries?
  psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

if [[ -n ${PG_TEST_URL:-} ]]; then
  answers "$PG_TEST_URL" || { echo "postgres.sh: PG_TEST_URL=$PG_TEST_URL does not answer" >&2; exit 1; }
  echo "$PG_TEST_URL"
  exit 0
fi

local_url="${PG_LOCAL_URL:-postgres://postgres@127.0.0.1:5432/test}"
if answers "$local_url"; then
  echo "$local_url"
  exit 0
fi

throwaway_url="postgres://postgres@127.0.0.1:${PORT}/postgres"
if answers "$throwaway_url"; then
  echo "$throwaway_url"
  exit 0
fi

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -x $bindir/initdb ]] || {
  echo "postgres.sh: no PostgreSQL answers on 127.0.0.1:5432 and no PostgreSQL binaries are installed" >&2
  exit 1
}
echo "postgres.sh: no PostgreSQL on 127.0.0.1:5432; starting a throwaway cluster on port $PORT" >&2
mkdir -p "$PEERS_DIR"
data="$PEERS_DIR/pgdata"
rm -rf "$data"
as_postgres=()
if [[ $(id -u) == 0 ]]; then
  chown postgres "$PEERS_DIR" 2>/dev/null || chmod 777 "$PEERS_DIR"
  as_postgres=(runuser -u postgres --)
fi
"${as_postgres[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust >"$PEERS_DIR/initdb.log" 2>&1 \
  || { cat "$PEERS_DIR/initdb.log" >&2; exit 1; }
"${as_postgres[@]}" "$bindir/pg_ctl" -D "$data" -l "$PEERS_DIR/postgres.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$data -c max_connections=300" start >&2 \
  || { tail -n 30 "$PEERS_DIR/postgres.log" >&2; exit 1; }
answers "$throwaway_url" || { echo "postgres.sh: the throwaway cluster does not answer" >&2; exit 1; }
echo "$throwaway_url"
