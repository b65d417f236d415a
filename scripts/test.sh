#!/usr/bin/env bash
# Runs the whole test suite: installs the pinned test peers (npm oidc-provider and
# playwright-core, PyPI moto, Debian chromium),
# finds (or starts) PostgreSQL, starts the peers, runs every test on SQLite and PostgreSQL (none may
# skip for want of a peer), then stops what it started.
# Extra arguments go to `cargo test` (e.g. a test name filter). Ends with a total line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
# Tests that need a peer fail when it is missing, rather than skip as under plain `cargo test`.
# Not under USERPROFILE_: that prefix is the service's configuration, which refuses unknown keys.
export REQUIRE_TEST_PEERS=1
mkdir -p "$PEERS_DIR"

scripts/peers/install.sh
scripts/peers/install-moto.sh
scripts/peers/install-chromium.sh
PG_TEST_URL="$(scripts/postgres.sh)"
export PG_TEST_URL
trap 'scripts/stop-peers.sh; drop_test_databases' EXIT

# Four at a time, forcing out connections a killed test process left behind.
drop_test_databases() {
  psql "$PG_TEST_URL" -Atqc "select datname from pg_database where datname like 'userprofile_test_%'" 2>/dev/null \
    | xargs -r -P 4 -I '{}' psql "$PG_TEST_URL" -qc 'drop database if exists "{}" with (force)' >/dev/null 2>&1 || true
}
drop_test_databases

OIDC_ISSUER="$(scripts/peers/start-oidc.sh)"
export OIDC_ISSUER
S3_TEST_ENDPOINT="$(scripts/peers/start-moto.sh)"
export S3_TEST_ENDPOINT

echo "test.sh: PostgreSQL at $PG_TEST_URL, OpenID provider at $OIDC_ISSUER, S3 at $S3_TEST_ENDPOINT" >&2
# Unit and integration tests of every crate (examples are built by clippy in .ci/run).
log="$PEERS_DIR/cargo-test.log"
status=0
cargo test --workspace --lib --bins --tests "$@" 2>&1 | tee "$log" || status=$?
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo "total: $passed passed, $failed failed"
exit "$status"
