#!/usr/bin/env bash
# Toolchain for lifeboat-plugins' guest examples (plugins/examples/build.sh):
#   clang-14 + lld-14 + wasi-libc + compiler-rt for wasm32 (C guests),
#   componentize-py from PyPI (Python guests).
# Idempotent and fast when already installed: only runs apt-get/pip when something is missing.
set -euo pipefail

APT_PKGS=(clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32)
COMPONENTIZE_PY_VERSION="${COMPONENTIZE_PY_VERSION:-0.25.1}"

missing=()
for p in "${APT_PKGS[@]}"; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "plugins.sh: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! python3 -c 'import componentize_py' 2>/dev/null; then
    echo "plugins.sh: installing componentize-py ${COMPONENTIZE_PY_VERSION}" >&2
    python3 -m pip install --quiet "componentize-py==${COMPONENTIZE_PY_VERSION}"
fi
