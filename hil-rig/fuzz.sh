#!/usr/bin/env bash
# Coverage-guided fuzzing of the frame decoder on the stable toolchain (cargo-fuzz needs nightly
# only for sanitizers; these are the coverage passes it uses). Not part of the test suite.
#   bash hil-rig/fuzz.sh [seconds]        default 120
# Seeds: fixtures/frames/*.hex and fuzz/regressions/*. A crash is written to fuzz/crash-*;
# minimise it, add it to fuzz/regressions/ and a unit test that names the bug.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-120}
target=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --release --target "$target" --target-dir target/cov
mkdir -p corpus/decode_frame
for f in ../fixtures/frames/*.hex; do xxd -r -p "$f" > "corpus/decode_frame/$(basename "$f" .hex)"; done
exec "target/cov/$target/release/decode_frame" corpus/decode_frame regressions \
  -max_total_time="$secs" -max_len=600
