#!/usr/bin/env bash
# Test dependency of the OpenAPI fuzz test (chaos-tests/tests/openapi_fuzz.rs): schemathesis
# from PyPI, run as `st run .../v1/openapi.json` against a live fleet. Pinned: its checks and
# flags change between releases. Idempotent and fast when already installed.
set -euo pipefail
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
installed="$(python3 -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)"
if [ "$installed" != "$SCHEMATHESIS_VERSION" ] || ! command -v st >/dev/null 2>&1; then
    echo "schemathesis.sh: installing schemathesis ${SCHEMATHESIS_VERSION}" >&2
    python3 -m pip install --quiet "schemathesis==${SCHEMATHESIS_VERSION}" ||
        python3 -m pip install --quiet --break-system-packages "schemathesis==${SCHEMATHESIS_VERSION}"
    # pyenv shims must be refreshed for the new console script.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
fi
command -v st >/dev/null 2>&1 || { echo "schemathesis installed but \`st\` is not on PATH" >&2; exit 1; }
