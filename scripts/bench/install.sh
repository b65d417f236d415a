#!/usr/bin/env bash
# Installs the benchmark contenders' npm packages (PostGraphile 4) from package-lock.json.
# Idempotent: does nothing when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v npm >/dev/null || { echo "install.sh: npm is not installed" >&2; exit 1; }
stamp=node_modules/.userprofile-install-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1) node=$(node --version)"
[[ -f $stamp && "$(cat "$stamp")" == "$want" ]] && exit 0
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
