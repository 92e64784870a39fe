#!/usr/bin/env bash
# Run every Lifeboat check and test, as CI does:
#   1. install what the tests need (each scripts/deps/*.sh is idempotent and quick when
#      everything is already there: apt packages, PyPI clients and servers);
#   2. cargo fmt --check, clippy with -D warnings, rustdoc with -D warnings;
#   3. cargo test for the whole workspace (unit, integration, multi-process chaos tests).
# Usage: bash scripts/test.sh [extra cargo test args, e.g. -p lifeboat]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing test dependencies"
for deps in scripts/deps/*.sh; do
    bash "$deps"
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (deny warnings: broken or ambiguous intra-doc links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "cargo test"
start=$(date +%s)
cargo test --workspace --locked "$@"
echo "tests took $(( $(date +%s) - start )) s"
