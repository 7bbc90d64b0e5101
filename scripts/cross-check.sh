#!/usr/bin/env bash
# Type-checks the library, the binary, the tests and the benches for Windows
# (x86_64-pc-windows-gnu) and macOS (aarch64-apple-darwin) on this Linux machine, and fails
# on any warning of the crate's own. Called by .ci/run after the Linux checks.
#
# How: the machine's rustup toolchain has only the Linux standard library, and no other can
# be downloaded here. Debian's rustc-web, cargo-web and rust-web-src packages bring a Rust of
# the same generation (1.96) with the standard library's sources, so cargo's -Zbuild-std
# builds std for any target (RUSTC_BOOTSTRAP=1 unlocks the unstable flag on a stable
# compiler). Type-checking needs no linker and no SDK. blake3's C and assembly need an
# Apple compiler, so macOS is checked with its pure-Rust build (same API).
#
#   bash scripts/cross-check.sh [TARGET...]     # default: both targets
#   CROSS_TARGET_DIR=DIR                        # default: target/cross (std is built there)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/rustc ] || [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
    echo "cross-check: installing rustc-web, cargo-web, rust-web-src (Debian) for -Zbuild-std"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -q rustc-web cargo-web rust-web-src >/dev/null
fi
# Windows' std links some system DLLs by raw-dylib, which needs the MinGW dlltool even for a
# type-check.
if ! command -v x86_64-w64-mingw32-dlltool >/dev/null; then
    echo "cross-check: installing binutils-mingw-w64-x86-64 (Debian) for dlltool"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -q binutils-mingw-w64-x86-64 >/dev/null
fi

dir=${CROSS_TARGET_DIR:-target/cross}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-gnu aarch64-apple-darwin)
status=0
for target in "${targets[@]}"; do
    extra=()
    [ "$target" = aarch64-apple-darwin ] && extra=(--features blake3/pure)
    log=$(mktemp)
    echo "cross-check: $target"
    if ! RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo check -q \
        -Zbuild-std=std,panic_abort --target "$target" --target-dir "$dir" \
        --all-targets "${extra[@]}" --message-format short >"$log" 2>&1; then
        cat "$log"
        echo "cross-check: $target: FAILED"
        status=1
    elif grep -E '^(src|tests|benches|examples)/.*: warning' "$log"; then
        echo "cross-check: $target: warnings in the crate (above)"
        status=1
    else
        echo "cross-check: $target: ok, no warnings"
    fi
    rm -f "$log"
done
exit $status
