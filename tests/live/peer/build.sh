#!/bin/sh
# Builds the best warm peer, imagegen-bridge (https://github.com/Crimsab/imagegen-bridge), from a source
# checkout given as the first argument, in release mode and with its own target directory inside that
# checkout, and prints the path of the binary for CODEX_IMG_BENCH_PEER. Nothing of it enters codex-img.
#
#   git clone https://github.com/Crimsab/imagegen-bridge /work/peer-src
#   git -C /work/peer-src checkout 8e755eb59b1637850baf526b00d0ed2800108915   # v0.3.0, the one measured
#   CODEX_IMG_BENCH_PEER=$(tests/live/peer/build.sh /work/peer-src) \
#     cargo run --release -p codex-img-live --example bench -- --peer-only 12 0.171.0
set -eu
src=${1:?usage: tests/live/peer/build.sh SOURCE_DIR}
src=$(cd "$src" && pwd)
test -f "$src/crates/cli/Cargo.toml" || {
    echo "$src is not an imagegen-bridge checkout (no crates/cli/Cargo.toml)" >&2
    exit 2
}
# Its rust-toolchain.toml pins 1.94.0; any stable from 1.94 on builds it, so use the one at hand unless the
# caller chose one (rustup would otherwise try to download the pinned release).
export RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-stable}"
export CARGO_TARGET_DIR="$src/target"
export CARGO_INCREMENTAL=0
cargo build --release --locked --quiet \
    --manifest-path "$src/Cargo.toml" -p imagegen-bridge-cli --bin imagegen-bridge >&2
echo "$CARGO_TARGET_DIR/release/imagegen-bridge"
