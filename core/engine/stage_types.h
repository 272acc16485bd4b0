// What a pipeline stage takes and gives: its options, the messages between stages, the results of
// its calls. Plain data; the stage itself is core/engine/stage.h, its work a backend's (backend.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/model_types.h"

namespace tessera::engine {

// Named numbers a call reports: "loss" (last stage), "tokens", "flops" (DESIGN.md formula),
// "device_seconds", and per call "lr", "grad_norm", "payload_bytes", ...
using Metrics = std::map<std::string, double>;

// The arithmetic of training. automatic: bf16 autocast on a CUDA device (fp32 master weights and
// optimizer state, TF32 matrix products), fp32 on the CPU. fp32: fp32 everywhere (the CUDA check
// against the CPU). bf16: bf16 autocast, refused on the CPU.
enum class Precision : std::uint8_t { automatic, fp32, bf16 };
std::string precision_name(Precision precision);  // "auto", "fp32", "bf16"
// Throws std::invalid_argument naming the valid choices.
Precision parse_precision(const std::string& text);

struct StageOptions {
  ModelConfig model;
  TrainConfig train;
  int stage_count = 1;
  int stage_index = 0;
  CodecKind codec = CodecKind::none;
  std::string device = "cpu";  // cpu, cuda or cuda:N
  int threads = 0;             // CPU threads, libtorch intra-op and the BLAS pool; 0 keeps their choice
  std::int64_t memory_limit_bytes = 0;  // 0: no limit
  int in_flight = 0;  // micro-batches stashed at once; 0: train.micro_batches (all-forward-then-backward)
  std::int64_t inference_cache_bytes = 256LL << 20;  // KV cache of the inference sessions (decode())
  std::chrono::seconds inference_session_ttl{120};   // idle time after which a session is dropped
  Precision precision = Precision::automatic;
};

// What flows forward between stages for one micro-batch. Token ids travel with the activations:
// the last stage needs the targets, and under the subspace codec every stage recomputes the
// token embedding from them.
struct ForwardMessage {
  std::int64_t micro_batch = 0;
  int batch = 0;                     // sequences
  int sequence = 0;                  // tokens per sequence (T)
  std::vector<std::int32_t> tokens;  // [batch, T + 1]: inputs are [:, :T], targets [:, 1:]
  Payload activations;               // empty on the way into stage 0 and out of the last stage
};

struct ForwardResult {
  ForwardMessage output;
  Metrics metrics;
};

struct BackwardResult {
  Payload grad_input;  // empty on stage 0
  Metrics metrics;
};

struct EvalResult {
  ForwardMessage output;               // towards the next stage (not on the last)
  std::vector<std::int32_t> predictions;  // last stage: argmax next token, [batch, T]
  double loss = 0.0;                   // last stage: mean cross-entropy
};

// One sequence's new positions in a decode batch (inference with a KV cache).
struct DecodeEntry {
  std::uint64_t session = 0;         // the caller's id of the sequence
  std::int32_t start = 0;            // position of tokens[0]; 0 opens (or reopens, dropping the old) session
  std::vector<std::int32_t> tokens;  // ids of the new positions, at least one; start + size <= context
  Payload activations;  // stage > 0: the previous stage's output for exactly these positions, shape
                        // [1, n, boundary values]; empty on stage 0
};

struct DecodeOutcome {
  // start > 0 and this stage does not hold the session at exactly `start` cached positions
  // (evicted, expired, stage restarted): the caller re-sends the sequence from 0. Nothing else is
  // set then.
  bool missing = false;
  Payload activations;        // stages before the last: [1, n, boundary values] for the next stage, encoded with the stage's codec
  std::vector<float> logits;  // last stage: the logits [vocab] of the entry's last new position
};

struct InferenceCacheStats {
  std::int64_t sessions = 0;
  std::int64_t bytes = 0;      // keys and values held
  std::int64_t evictions = 0;  // sessions dropped to fit the budget, since the stage was built
  std::int64_t expired = 0;    // sessions dropped after the idle ttl, since the stage was built
};
}  // namespace tessera::engine
