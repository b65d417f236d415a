#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing (playwright-core, pinned
# in package.json, drives it; no browser is downloaded from elsewhere).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends chromium >/dev/null
}
