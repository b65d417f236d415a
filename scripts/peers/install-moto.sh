#!/usr/bin/env bash
# Installs the pinned S3 test peer (PyPI moto in server mode) into scripts/peers/.venv.
# Idempotent: does nothing when the venv already matches requirements.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
stamp=.venv/.userprofile-install-stamp
want="$(sha256sum requirements.txt | cut -d' ' -f1) $(python3 --version)"
if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -x .venv/bin/moto_server ]]; then
  exit 0
fi
rm -rf .venv
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt
echo "$want" >"$stamp"
