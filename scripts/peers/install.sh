#!/usr/bin/env bash
# Installs the test peers' npm dependencies (oidc-provider, playwright-core, the Apollo gateway
# and subgraph packages) from package-lock.json.
# Idempotent: does nothing when node_modules already matches the lock file. Concurrent calls
# (tests that start their own provider) wait for each other instead of installing at once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v node >/dev/null || { echo "install.sh: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm is not installed" >&2; exit 1; }

stamp=node_modules/.userprofile-install-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1) node=$(node --version)"
installed() { [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; }
installed && exit 0

exec 9>.install.lock
flock 9
installed && exit 0
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
