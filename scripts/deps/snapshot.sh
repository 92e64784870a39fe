#!/usr/bin/env bash
# Test dependencies of lifeboat-snapshot (snapshot/tests/s3.rs): moto's S3 server from PyPI,
# run as `moto_server -H 127.0.0.1 -p PORT`. Idempotent and fast when already installed.
set -euo pipefail
if ! command -v moto_server >/dev/null 2>&1 || ! python3 -c 'import moto.server' 2>/dev/null; then
    python3 -m pip install --quiet 'moto[server]'
    # pyenv shims must be refreshed for the new console script.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
fi
command -v moto_server >/dev/null 2>&1 || { echo "moto_server still not on PATH after pip install" >&2; exit 1; }
