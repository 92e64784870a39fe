#!/usr/bin/env bash
# Build the example and hostile plugins from source into $OUT (default
# <repo>/target/lifeboat-plugin-examples; never committed).
#
#   C:      clang-14 --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor, bindings and
#           componentization by lifeboat-componentize (this crate's binary).
#   Python: componentize-py (slow: ~15 s; cached).
#
# Outputs are cached: each plugin is rebuilt only when a stamp over its inputs (sources,
# WIT, this script, the tool binary, the compiler versions) changes.
#
# Env: OUT, COMPONENTIZE (path to lifeboat-componentize; default: built with cargo),
#      PYTHON_EXAMPLES=0 to skip the Python example.
# Needs the toolchain from scripts/deps/plugins.sh; exits 2 with a message otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PLUGINS=$(dirname "$HERE")
REPO=$(dirname "$PLUGINS")
WIT="$PLUGINS/wit"
OUT=${OUT:-${CARGO_TARGET_DIR:-$REPO/target}/lifeboat-plugin-examples}
PYTHON_EXAMPLES=${PYTHON_EXAMPLES:-1}
mkdir -p "$OUT"

missing() {
    echo "plugins/examples/build.sh: $1 is missing; install the plugin toolchain with scripts/deps/plugins.sh" >&2
    exit 2
}
command -v clang-14 >/dev/null || missing "clang-14"
[ -e /usr/lib/wasm32-wasi/libc.a ] || missing "wasi-libc (/usr/lib/wasm32-wasi/libc.a)"
[ -e /usr/lib/llvm-14/bin/wasm-ld ] || missing "lld-14 (wasm-ld)"
ls /usr/lib/llvm-14/lib/clang/14*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 ||
    missing "libclang-rt-14-dev-wasm32"

# One build at a time (tests and benches may race).
exec 9>"$OUT/.lock"
flock 9

if [ -z "${COMPONENTIZE:-}" ]; then
    (cd "$REPO" && cargo build -q -p lifeboat-plugins --bin lifeboat-componentize)
    COMPONENTIZE="${CARGO_TARGET_DIR:-$REPO/target}/debug/lifeboat-componentize"
fi

# Keyed on the tool's sources and pinned crate versions, not its binary (which is relinked
# whenever the crate changes), so unrelated host changes do not rebuild every plugin.
TOOLS_KEY=$( (clang-14 --version | head -1
    cat "${BASH_SOURCE[0]}" "$PLUGINS/src/componentize.rs" "$PLUGINS/src/bin/componentize.rs"
    grep -A1 -E '^name = "(wit-component|wit-bindgen-c|wit-bindgen-core|wasi-preview1-component-adapter-provider)"' "$REPO/Cargo.lock" || true
) | sha256sum | cut -d' ' -f1)

# fresh NAME KEY: true when OUT/NAME.wasm exists with this stamp.
fresh() { [ -f "$OUT/$1.wasm" ] && [ "$(cat "$OUT/$1.stamp" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$OUT/$1.stamp"; }

# C bindings for a WIT directory, into $2.
bindgen() { "$COMPONENTIZE" bindgen --wit "$1" --out "$2" >/dev/null; }

# build_c NAME SOURCE WITDIR GENDIR [CFLAGS...]
build_c() {
    local name=$1 src=$2 wit=$3 gen=$4
    shift 4
    local key
    key=$( (echo "$TOOLS_KEY $*"; cat "$src" "$HERE/c/lifeboat.h" "$wit"/*.wit) | sha256sum | cut -d' ' -f1)
    if fresh "$name" "$key"; then return; fi
    local t0=$SECONDS
    clang-14 --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wall -Wno-unused-function \
        -I"$gen" -I"$HERE/c" "$@" -o "$OUT/$name.core.wasm" "$src" "$gen/plugin.c"
    "$COMPONENTIZE" new --wit "$wit" "$OUT/$name.core.wasm" -o "$OUT/$name.wasm"
    rm -f "$OUT/$name.core.wasm"
    stamp "$name" "$key"
    echo "built $name.wasm ($((SECONDS - t0)) s)" >&2
}

GEN="$OUT/gen"
bindgen "$WIT" "$GEN"
for ex in trivial spin dns-switch slo-check kube-scale kube-mark; do
    build_c "$ex" "$HERE/c/$ex.c" "$WIT" "$GEN"
done
for mode in loop membomb hugeout trap badhost kubeescape sleeper nolog chatty ambient; do
    build_c "hostile-$mode" "$HERE/c/hostile.c" "$WIT" "$GEN" "-DMODE_$mode"
done

# The same trivial plugin against an incompatible WIT major version (1.0.0).
WIT1="$OUT/wit-v1"
mkdir -p "$WIT1"
sed 's/^package lifeboat:plugin@0\.1\.0;/package lifeboat:plugin@1.0.0;/' "$WIT/plugin.wit" >"$WIT1/plugin.wit"
bindgen "$WIT1" "$OUT/gen-v1"
build_c "incompatible-v1" "$HERE/c/trivial.c" "$WIT1" "$OUT/gen-v1"

if [ "$PYTHON_EXAMPLES" = 1 ]; then
    command -v componentize-py >/dev/null || missing "componentize-py"
    for app in "$HERE"/python/*/; do
        name="$(basename "$app")-py"
        key=$( (componentize-py --version; cat "$WIT"/*.wit "$app"/*.py) | sha256sum | cut -d' ' -f1)
        if fresh "$name" "$key"; then continue; fi
        t0=$SECONDS
        componentize-py -d "$WIT" -w plugin componentize -p "$app" app -o "$OUT/$name.wasm" >/dev/null
        stamp "$name" "$key"
        echo "built $name.wasm ($((SECONDS - t0)) s)" >&2
    done
fi
echo "$OUT"
