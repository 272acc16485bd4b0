#!/usr/bin/env bash
# Builds the wire-decoder fuzz target with clang-14 (libFuzzer, ASan, UBSan) and runs it.
# Usage: run_fuzz.sh SOURCE_DIR BUILD_DIR SECONDS
set -euo pipefail
src="$1"; out="$2"; seconds="$3"
command -v clang++-14 >/dev/null || { echo "clang++-14 is missing: run scripts/setup" >&2; exit 1; }
mkdir -p "$out/corpus"
clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$src" "$src/tests/fuzz/fuzz_wire.cpp" "$src/core/net/wire.cpp" "$src/core/model/dtype.cpp" \
  $(pkg-config --cflags --libs libsodium) -o "$out/fuzz_wire"
# Seeds: a valid header (magic, version, kind, run id) so the fuzzer starts past the first checks.
printf 'TSRW\x01\x00\x01\x00\x05\x01\x03\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00' > "$out/corpus/seed"
head -c 32 /dev/zero >> "$out/corpus/seed"
printf 'run\x04\x00\x00\x00\x00\x00\x00\x00' >> "$out/corpus/seed"
exec "$out/fuzz_wire" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 "$out/corpus"
