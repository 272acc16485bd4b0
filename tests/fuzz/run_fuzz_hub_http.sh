#!/usr/bin/env bash
# Builds the hub HTTP request fuzz target with clang-14 (libFuzzer, ASan, UBSan) from the sources a
# route's request path uses, seeds it with one valid body per route, and runs it.
# Usage: run_fuzz_hub_http.sh SOURCE_DIR BUILD_DIR SECONDS
set -euo pipefail
src="$1"; out="$2"; seconds="$3"
command -v clang++-14 >/dev/null || { echo "clang++-14 is missing: run scripts/setup" >&2; exit 1; }
sources=(
  tests/fuzz/fuzz_hub_http.cpp
  core/hub/request_verifier.cpp core/hub/replay_guard.cpp core/hub/completion.cpp core/hub/chat.cpp
  core/protocol/hub_api.cpp core/protocol/run_paths.cpp core/protocol/node_address.cpp core/protocol/receipt.cpp core/sys/bounded_json.cpp core/sys/durable_file.cpp
  core/wallet/signing.cpp core/wallet/encoding.cpp core/wallet/secure_bytes.cpp core/wallet/delegation.cpp
  core/wallet/slip10.cpp core/wallet/secure_file.cpp core/wallet/keypair_file.cpp
)
export FUZZ_SRC="$src" FUZZ_OBJECTS="$out/fuzz_hub_http_objects"
export FUZZ_FLAGS="-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(pkg-config --cflags libsodium spdlog)"
mkdir -p "$FUZZ_OBJECTS"
# One compiler per core: compiling is most of this test's time.
printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -n 1 bash -c \
  'clang++-14 $FUZZ_FLAGS -I"$FUZZ_SRC" -c "$FUZZ_SRC/$0" -o "$FUZZ_OBJECTS/${0//\//_}.o"'
clang++-14 $FUZZ_FLAGS "$FUZZ_OBJECTS"/*.o $(pkg-config --libs libsodium spdlog) -o "$out/fuzz_hub_http"
corpus="$out/corpus_hub_http"
mkdir -p "$corpus"
hex64=$(printf 'ab%.0s' {1..32}); hex128=$(printf 'cd%.0s' {1..64})
# Seeds: route byte, "signed" byte, then a body each reader accepts (or nearly).
printf '\x01\x01{"nonce":"%s","delegation":{"node_key":"11111111111111111111111111111111","owner":"x","run":"*","expires_at":1,"signature":"1111111111111111111111111111111111111111111111111111111111111111"},"endpoint":"tcp://127.0.0.1:1","device":{"name":"cpu","memory_bytes":1024,"tokens_per_s":1.5}}' "$hex64" > "$corpus/join"
printf '\x06\x01{"receipts":[{"run":"r","step":1,"micro_batch":0,"direction":"forward","sender":"%s","receiver":"%s","stage":0,"tokens":16,"payload_hash":"%s","signature":"%s"}]}' "$hex64" "$hex64" "$hex64" "$hex128" > "$corpus/receipts"
printf '\x07\x01{"step":{"step":3,"loss":1.5,"tokens":64,"seconds":0.2}}' > "$corpus/progress"
printf '\x08\x00{"model":"fuzz-run","prompt":"12+34=","max_tokens":4,"temperature":0,"stop":["\\n"],"stream":true,"seed":1}' > "$corpus/completion"
printf '\x09\x00{"model":"fuzz-run","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"12+34="}]}],"max_completion_tokens":4,"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"text"}}' > "$corpus/chat"
printf '\x05\x01{"run":"r","stages":2,"driver":"%s","peers":[{"node_key":"%s","endpoint":"tcp://a:1","stage":0,"ready_order":1,"ready":true,"device":"cpu"}]}' "$hex64" "$hex64" > "$corpus/peers"
printf '\x03\x00%s\n1700000000000\n%s\n{}' "$hex64" "$hex128" > "$corpus/heartbeat_forged"
exec "$out/fuzz_hub_http" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 "$corpus"
