// What a node's connections carried, by kind (issue #19): bytes sent and received on every swarm
// socket (counted by net::Server and net::Client with the CurveZMQ framing they add) and every
// HTTP exchange with the hub. One meter per node, written from every thread (relaxed atomics: a
// snapshot is a sum of counters, never a consistent cut), read by the status, the log and the
// heartbeat. The snapshot's JSON is what the heartbeat carries and the hub validates.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/net/wire.h"

namespace tessera::net {

enum class TrafficKind : std::uint8_t {
  boundary_forward,   // activations into the next stage
  boundary_backward,  // gradients back to the previous stage
  replica_averaging,  // the replicas' gradient sums and norms
  embedding_sync,     // the shared embedding's gradient (subspace runs)
  state_transfer,     // a joining replica's stage state
  spot_checks,        // a checker fetching a worker's evidence
  inference,          // Infer and Logits
  control,            // every other swarm message, and the HTTP exchanges with the hub
};
inline constexpr std::size_t kTrafficKinds = 8;

const char* kind_name(TrafficKind kind);
std::optional<TrafficKind> traffic_kind_from_name(std::string_view name);

// A GradNorm answering a Reduce may carry the stage's part of the shared embedding gradient
// (reduce_work.cpp); a plain norm is far smaller than this.
inline constexpr std::size_t kGradNormEmbeddingBytes = 256;
TrafficKind classify(MessageKind kind, std::size_t payload_bytes);

// What one ZMTP frame of `frame_bytes` costs on a CurveZMQ TCP connection; see the .cpp.
std::uint64_t curve_frame_bytes(std::size_t frame_bytes);

struct TrafficCount {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t both() const { return sent + received; }
  bool operator==(const TrafficCount&) const = default;
};

struct TrafficSnapshot {
  std::array<TrafficCount, kTrafficKinds> kinds{};

  const TrafficCount& operator[](TrafficKind kind) const { return kinds[static_cast<std::size_t>(kind)]; }
  TrafficCount& operator[](TrafficKind kind) { return kinds[static_cast<std::size_t>(kind)]; }
  TrafficCount total() const;
  TrafficSnapshot& operator+=(const TrafficSnapshot& other);

  // {"<kind>": {"sent": n, "received": n}, ..., "total": {"sent": n, "received": n}}
  nlohmann::json to_json() const;
  // The same shape from a peer that may be hostile: only known kinds (each at most once), counts
  // that are integers in [0, 2^53], "total" ignored (recomputed); nothing when anything is off.
  static std::optional<TrafficSnapshot> from_json(const nlohmann::json& json);

  bool operator==(const TrafficSnapshot&) const = default;
};

// A node's report: what its connections carried and the tokens it trained (micro-batches of
// committed steps × tokens per micro-batch).
struct TrafficReport {
  TrafficSnapshot bytes;
  std::uint64_t tokens = 0;
  // What the same boundary, averaging and embedding-sync exchanges would have carried as raw
  // float32 (codec none, exact sums): the payloads only, counted where the node makes them.
  std::uint64_t fp32_equivalent = 0;
  std::optional<double> bytes_per_token() const;  // sent + received per token; nothing before any
  // fp32_equivalent over what those kinds really carried (framing and token ids included):
  // how many times less this node's training exchanges moved than raw float32; nothing before any.
  std::optional<double> compression() const;
  // For people: "12.3 MB sent, 11.0 MB received, 1,234 bytes/token, 17.7× less than fp32
  // (boundary 40%, averaging 55%, …)".
  std::string summary() const;
  // {"bytes": TrafficSnapshot::to_json(), "tokens": n, "bytes_per_token": x or null,
  // "fp32_equivalent": n, "compression": x or null}; from_json
  // refuses what TrafficSnapshot::from_json refuses, or a token count that is not such a count.
  nlohmann::json to_json() const;
  static std::optional<TrafficReport> from_json(const nlohmann::json& json);

  bool operator==(const TrafficReport&) const = default;
};

class TrafficMeter {
 public:
  void count_sent(TrafficKind kind, std::uint64_t bytes);
  void count_received(TrafficKind kind, std::uint64_t bytes);
  // Tokens this node trained (its micro-batches of a committed step × tokens per micro-batch): what
  // bytes_per_token divides by.
  void count_trained_tokens(std::uint64_t tokens);
  // Bytes an exchange would have carried as raw float32 (TrafficReport::fp32_equivalent).
  void count_fp32_equivalent(std::uint64_t bytes);
  TrafficSnapshot snapshot() const;
  TrafficReport report() const;

 private:
  struct Counters {
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> received{0};
  };
  std::array<Counters, kTrafficKinds> counters_;
  std::atomic<std::uint64_t> tokens_{0};
  std::atomic<std::uint64_t> fp32_equivalent_{0};
};

}  // namespace tessera::net
