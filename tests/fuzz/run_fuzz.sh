#!/usr/bin/env bash
# Builds a fuzz target with clang-14 (libFuzzer, ASan, UBSan) and runs it.
# Usage: run_fuzz.sh SOURCE_DIR BUILD_DIR SECONDS [TARGET]
#   TARGET wire (the default): the wire header decoder (fuzz_wire.cpp)
#   TARGET swarm: the swarm envelope, its typed messages and credentials (fuzz_swarm.cpp)
set -euo pipefail
src="$1"; out="$2"; seconds="$3"; target="${4:-wire}"
command -v clang++-14 >/dev/null || { echo "clang++-14 is missing: run scripts/setup" >&2; exit 1; }
corpus="$out/corpus-$target"
mkdir -p "$corpus"
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$src")
case "$target" in
  wire)
    clang++-14 "${flags[@]}" "$src/tests/fuzz/fuzz_wire.cpp" "$src/core/net/wire.cpp" "$src/core/model/dtype.cpp" \
      $(pkg-config --cflags --libs libsodium) -o "$out/fuzz_wire"
    # Seeds: a valid header (magic, version, kind, run id) so the fuzzer starts past the first checks.
    printf 'TSRW\x01\x00\x01\x00\x05\x01\x03\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00' > "$corpus/seed"
    head -c 32 /dev/zero >> "$corpus/seed"
    printf 'run\x04\x00\x00\x00\x00\x00\x00\x00' >> "$corpus/seed"
    ;;
  swarm)
    clang++-14 "${flags[@]}" "$src/tests/fuzz/fuzz_swarm.cpp" \
      "$src/core/net/envelope.cpp" "$src/core/net/swarm_messages.cpp" "$src/core/net/check_evidence.cpp" \
      "$src/core/model/power_sgd.cpp" \
      "$src/core/sys/bounded_json.cpp" "$src/core/protocol/spot_check.cpp" "$src/core/protocol/payload_digest.cpp" \
      "$src/core/protocol/assignment.cpp" "$src/core/protocol/step_ticket.cpp" "$src/core/protocol/inference_ticket.cpp" \
      "$src/core/wallet/encoding.cpp" "$src/core/wallet/signing.cpp" "$src/core/wallet/secure_bytes.cpp" \
      $(pkg-config --cflags --libs libsodium) -o "$out/fuzz_swarm"
    # Seeds: one valid example of each message and credential, written by the target itself.
    TESSERA_FUZZ_SEEDS="$corpus" "$out/fuzz_swarm" -runs=1 </dev/null >/dev/null 2>&1
    exec "$out/fuzz_swarm" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -dict="$src/tests/fuzz/swarm.dict" "$corpus"
    ;;
  *) echo "unknown fuzz target '$target' (wire, swarm)" >&2; exit 2 ;;
esac
exec "$out/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 "$corpus"
