#!/usr/bin/env bash
# Runs the whole test suite: installs the pinned test peers (npm oidc-provider and
# playwright-core, PyPI moto, Debian chromium),
# finds (or starts) PostgreSQL, starts the peers, runs every test on SQLite and PostgreSQL, then stops what it started.
# Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
mkdir -p "$PEERS_DIR"

scripts/peers/install.sh
scripts/peers/install-moto.sh
scripts/peers/install-chromium.sh
PG_TEST_URL="$(scripts/postgres.sh)"
export PG_TEST_URL
trap 'scripts/stop-peers.sh; drop_test_databases' EXIT

drop_test_databases() {
  psql "$PG_TEST_URL" -Atqc "select datname from pg_database where datname like 'userprofile_test_%'" 2>/dev/null \
    | while read -r name; do psql "$PG_TEST_URL" -qc "drop database if exists $name" >/dev/null 2>&1; done
}
drop_test_databases

OIDC_ISSUER="$(scripts/peers/start-oidc.sh)"
export OIDC_ISSUER
S3_TEST_ENDPOINT="$(scripts/peers/start-moto.sh)"
export S3_TEST_ENDPOINT

echo "test.sh: PostgreSQL at $PG_TEST_URL, OpenID provider at $OIDC_ISSUER, S3 at $S3_TEST_ENDPOINT" >&2
cargo test --workspace --all-targets "$@"
