#!/usr/bin/env bash
# Installs Debian's wrk (the HTTP load generator of the benchmarks) when it is missing.
set -euo pipefail
command -v wrk >/dev/null && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends wrk >/dev/null 2>&1 || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends wrk >/dev/null
}
