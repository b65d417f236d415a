#!/usr/bin/env bash
# Installs the test peers' npm dependencies (oidc-provider) from package-lock.json.
# Idempotent: does nothing when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v node >/dev/null || { echo "install.sh: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm is not installed" >&2; exit 1; }

stamp=node_modules/.userprofile-install-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1) node=$(node --version)"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -f node_modules/oidc-provider/package.json ]]; then
  exit 0
fi

npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
